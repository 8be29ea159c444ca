"""/metrics: every figure is read from the database and RQ, so it matches what the API reports."""
import socket
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString
from sqlalchemy import update

from app import clock, create_app
from app.extensions import db
from app.models import SagaEvent
from app.ops.tally import BUCKETS_MS, SETTLE
from app.saga.journal import lock_saga, record
from app.saga.states import SagaStatus
from tests.conftest import run_jobs
from tests.helpers import place_order

MIXED = [
    None,
    None,
    {"ProcessPayment": {"kind": "permanent"}},
    {"ProcessPayment": {"kind": "transient", "times": 2}},
    {"CreateOrder": {"kind": "compensation"}, "SendNotification": {"kind": "permanent"}},
]


def run_mixed_batch(app, client, shop):
    """Completed, compensated, retried, failed-compensation and rejected sagas, all run to the end."""
    for faults in MIXED:
        place_order(client, shop["ada"], shop["keyboard"], faults=faults)
    place_order(client, shop["ivan"], shop["keyboard"])  # an inactive user: rejected at step one
    run_jobs(app)


def scrape(client):
    """GET /metrics, parsed: {(sample name, frozenset of labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def total(samples, name, **labels):
    """The sum of a metric's samples whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items()
               if sample == name and wanted <= sample_labels)


def api_sagas(client, status=None):
    """Every saga the API lists (with that status), in detail."""
    query = f"/api/sagas?limit=100{f'&status={status}' if status else ''}"
    return [client.get(item["url"]).json for item in client.get(query).json["items"]]


def test_metrics_match_the_api_after_a_mixed_batch(app, client, shop):
    run_mixed_batch(app, client, shop)
    place_order(client, shop["ada"], shop["keyboard"])  # left queued: PENDING, one job waiting
    samples = scrape(client)
    by_status = {status.value: len(api_sagas(client, status.value)) for status in SagaStatus}
    assert by_status == {"PENDING": 1, "RUNNING": 0, "COMPLETED": 3, "COMPENSATING": 0,
                         "COMPENSATED": 2, "FAILED": 1}
    for status, count in by_status.items():
        assert total(samples, "saga_sagas", saga_type="order_placement", status=status) == count
    assert total(samples, "saga_started_total") == 7
    assert total(samples, "saga_completed_total") == by_status["COMPLETED"]
    assert total(samples, "saga_compensated_total") == by_status["COMPENSATED"]
    assert total(samples, "saga_failed_total") == by_status["FAILED"]
    assert total(samples, "saga_queue_jobs", queue="saga", state="queued") == 1
    assert total(samples, "saga_workers", queue="saga") == 0
    assert total(samples, "saga_redis_up") == 1


def test_attempts_retries_and_durations_by_step_match_each_sagas_history(app, client, shop):
    run_mixed_batch(app, client, shop)
    samples = scrape(client)
    sagas = api_sagas(client)
    assert total(samples, "saga_step_retries_total") == sum(saga["retries"] for saga in sagas)
    for name in ("ValidateUser", "ReserveInventory", "CreateOrder", "ProcessPayment", "SendNotification"):
        steps = [step for saga in sagas for step in saga["steps"] if step["name"] == name]
        actions = sum(step["attempts"] for step in steps)
        undos = sum(step["compensation_attempts"] for step in steps)
        assert total(samples, "saga_step_attempts_total", step=name, phase="action") == actions
        assert total(samples, "saga_step_attempts_total", step=name, phase="compensation") == undos
        assert total(samples, "saga_step_duration_seconds_count", step=name) == actions
        assert total(samples, "saga_compensation_duration_seconds_count", step=name) == undos
    assert total(samples, "saga_step_failures_total", step="CreateOrder", phase="compensation") == 1


def test_duration_histograms_hold_the_durations_recorded_in_the_history(app, client, shop):
    run_mixed_batch(app, client, shop)
    samples = scrape(client)
    with app.app_context():
        durations = db.session.execute(db.select(SagaEvent.duration_ms).where(
            SagaEvent.step_name == "ProcessPayment", SagaEvent.type.like("step.%"),
            SagaEvent.duration_ms.is_not(None))).scalars().all()
    labels = {"saga_type": "order_placement", "step": "ProcessPayment"}
    for bound in BUCKETS_MS:
        assert total(samples, "saga_step_duration_seconds_bucket", le=floatToGoString(bound / 1000),
                     **labels) == sum(1 for ms in durations if ms <= bound)
    assert total(samples, "saga_step_duration_seconds_bucket", le="+Inf", **labels) == len(durations)
    assert total(samples, "saga_step_duration_seconds_sum", **labels) == pytest.approx(sum(durations) / 1000)


def test_timed_out_attempts_are_counted_as_timeouts(app, client, shop):
    app.config["SAGA_STEP_TIMEOUT"] = 1
    app.config["SAGA_RETRY_ATTEMPTS"] = 2
    place_order(client, shop["ada"], shop["keyboard"], faults={"ProcessPayment": {"kind": "hang"}})
    run_jobs(app)
    samples = scrape(client)
    assert total(samples, "saga_step_timeouts_total", step="ProcessPayment", phase="action") == 2
    assert total(samples, "saga_step_retries_total", step="ProcessPayment", phase="action") == 1
    assert total(samples, "saga_step_failures_total", step="ProcessPayment", phase="action") == 1
    assert total(samples, "saga_step_timeouts_total") == 2


def test_the_sweepers_events_are_counted_as_recoveries_by_kind(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    with app.app_context():
        saga = lock_saga(saga_id)
        record(saga, "sweeper.requeued", actor="sweeper", detail="job lost after commit")
        record(saga, "sweeper.requeued", actor="sweeper", detail="job lost after commit")
        record(saga, "sweeper.deadline_exceeded", actor="sweeper")
        db.session.commit()
    samples = scrape(client)
    assert total(samples, "saga_sweeper_recoveries_total", saga_type="order_placement", kind="requeued") == 2
    assert total(samples, "saga_sweeper_recoveries_total", kind="deadline_exceeded") == 1


def age_history(app, by):
    """Move every recorded event back in time, as if the sagas had run that much earlier."""
    with app.app_context():
        db.session.execute(update(SagaEvent).values(created_at=clock.now() - by))
        db.session.commit()
        return db.session.execute(db.select(db.func.max(SagaEvent.id))).scalar()


def test_settled_history_is_summed_once_and_the_figures_stay_exact(app, client, shop):
    run_mixed_batch(app, client, shop)
    last_old = age_history(app, 2 * SETTLE)
    first = scrape(client)
    tally = app.extensions["saga_event_tally"]
    assert tally.folded_upto == last_old
    run_mixed_batch(app, client, shop)
    second = scrape(client)
    with app.app_context():
        first_new = db.session.execute(db.select(db.func.min(SagaEvent.id)).where(SagaEvent.id > last_old)).scalar()
    assert tally.folded_upto < first_new  # recent events are read fresh at each scrape, not folded
    for name in ("saga_started_total", "saga_completed_total", "saga_step_attempts_total",
                 "saga_step_duration_seconds_count", "saga_compensation_duration_seconds_count"):
        assert total(second, name) == 2 * total(first, name)


def closed_port():
    """A localhost port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_database_figures_are_served_while_redis_is_down(app, client, shop):
    run_mixed_batch(app, client, shop)
    broken = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0"})
    try:
        samples = scrape(broken.test_client())
    finally:
        with broken.app_context():
            db.engine.dispose()
    assert total(samples, "saga_redis_up") == 0
    assert total(samples, "saga_sagas", status="COMPLETED") == 3
    assert total(samples, "saga_queue_jobs") == 0


def test_step_stats_show_latency_percentiles_and_failure_rate_per_step(app, client, shop):
    place_order(client, shop["ada"], shop["keyboard"], faults={"ProcessPayment": {"kind": "transient", "times": 2}})
    run_jobs(app)
    body = client.get("/ops/step-stats?window=15").json
    assert body["window_minutes"] == 15
    rows = {(row["step"], row["phase"]): row for row in body["steps"]}
    payment = rows[("ProcessPayment", "action")]
    assert (payment["attempts"], payment["failures"]) == (3, 2)
    assert payment["failure_rate"] == pytest.approx(2 / 3)
    with app.app_context():
        durations = sorted(db.session.execute(db.select(SagaEvent.duration_ms).where(
            SagaEvent.step_name == "ProcessPayment", SagaEvent.duration_ms.is_not(None))).scalars())
    assert (payment["p50_ms"], payment["p95_ms"]) == (durations[1], durations[2])
    assert rows[("ValidateUser", "action")]["failure_rate"] == 0
    assert [row["step_index"] for row in body["steps"]] == [0, 1, 2, 3, 4]


def test_step_stats_leave_out_attempts_older_than_the_window(app, client, shop):
    place_order(client, shop["ada"], shop["keyboard"])
    run_jobs(app)
    age_history(app, timedelta(minutes=20))
    place_order(client, shop["ada"], shop["keyboard"], faults={"CreateOrder": {"kind": "permanent"}})
    run_jobs(app)
    steps = client.get("/ops/step-stats?window=15").json["steps"]
    assert {(row["step"], row["phase"], row["attempts"]) for row in steps} == {
        ("ValidateUser", "action", 1), ("ReserveInventory", "action", 1), ("CreateOrder", "action", 1),
        ("ReserveInventory", "compensation", 1)}


def test_the_step_stats_panel_renders_for_htmx(app, client, shop):
    place_order(client, shop["ada"], shop["keyboard"], faults={"ProcessPayment": {"kind": "permanent"}})
    run_jobs(app)
    html = client.get("/ops/step-stats?window=5", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="step-stats"' in html and 'hx-get="/ops/step-stats?window=5"' in html
    assert "ProcessPayment" in html and "100 %" in html
