"""Read-only queries the dashboard adds: steps of a page of sagas, needs attention, throughput."""
from datetime import timedelta

from sqlalchemy import event

from app import clock
from app.extensions import db
from app.models import Saga
from app.saga import queries
from tests.conftest import run_jobs
from tests.helpers import place_order


def finish(app, saga_id, status, minutes_ago):
    """Give a saga a final status and a finishing time in the past."""
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        saga.status, saga.finished_at = status, clock.now() - timedelta(minutes=minutes_ago)
        db.session.commit()


def count_queries(app, work):
    """Run `work()` in an app context and return how many SQL statements it sent."""
    statements = []
    with app.app_context():
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            work()
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)


def test_throughput_counts_sagas_finished_in_the_window_by_final_status(app, client, shop):
    ids = [place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(4)]
    for saga_id, status, minutes_ago in zip(ids, ["COMPLETED", "COMPLETED", "COMPENSATED", "FAILED"], [1, 2, 3, 9]):
        finish(app, saga_id, status, minutes_ago)
    with app.app_context():
        recent = queries.recent_throughput(minutes=5)
    assert recent["counts"] == {"COMPLETED": 2, "COMPENSATED": 1, "FAILED": 0}
    assert recent["total"] == 3 and recent["per_minute"] == 0.6


def test_throughput_counts_an_old_saga_that_finished_recently(app, client, shop):
    old, *newer = [place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(4)]
    finish(app, old, "COMPENSATED", 1)
    for saga_id in newer:
        finish(app, saga_id, "COMPLETED", 30)
    with app.app_context():
        assert queries.recent_throughput(minutes=5)["counts"] == {"COMPLETED": 0, "COMPENSATED": 1, "FAILED": 0}


def test_throughput_of_an_empty_table_is_zero(app):
    with app.app_context():
        assert queries.recent_throughput() == {
            "minutes": 5, "counts": {"COMPLETED": 0, "COMPENSATED": 0, "FAILED": 0}, "total": 0,
            "per_minute": 0.0}


def test_steps_of_a_page_of_sagas_come_in_one_query(app, client, shop):
    ids = [place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(5)]
    found = {}
    assert count_queries(app, lambda: found.update(queries.steps_of(ids))) == 1
    assert sorted(found) == ids and all(len(steps) == 5 for steps in found.values())
    assert [step.name for step in found[ids[0]]][:2] == ["ValidateUser", "ReserveInventory"]


def test_the_overview_costs_the_same_few_queries_whatever_the_page_holds(app, client, shop):
    for _ in range(3):
        place_order(client, shop["ada"], shop["keyboard"])
    few = count_queries(app, lambda: client.get("/", headers={"HX-Request": "true"}))
    for _ in range(12):
        place_order(client, shop["ada"], shop["keyboard"])
    run_jobs(app)
    many = count_queries(app, lambda: client.get("/", headers={"HX-Request": "true"}))
    assert few == many <= 6


def test_needs_attention_lists_failed_sagas_with_their_stuck_steps(app, client, shop):
    stuck = place_order(client, shop["ada"], shop["luxury"],
                        faults={"CreateOrder": {"kind": "compensation"}}).json["saga_id"]
    place_order(client, shop["ada"], shop["keyboard"])
    run_jobs(app)
    with app.app_context():
        rows, cursor = queries.needs_attention()
        assert [(saga.id, [step.name for step in steps]) for saga, steps in rows] == [(stuck, ["CreateOrder"])]
        assert cursor is None


def test_the_overview_counts_the_table_at_most_once_per_max_age(app, client, shop):
    app.config["SAGA_COUNTS_MAX_AGE"] = 3600
    place_order(client, shop["ada"], shop["keyboard"])
    with app.app_context():
        first = queries.recent(queries.status_counts)
    place_order(client, shop["ada"], shop["keyboard"])
    with app.app_context():
        assert queries.recent(queries.status_counts) == first == {"PENDING": 1}
        assert queries.status_counts() == {"PENDING": 2}
    app.config["SAGA_COUNTS_MAX_AGE"] = 0
    with app.app_context():
        assert queries.recent(queries.status_counts) == {"PENDING": 2}
