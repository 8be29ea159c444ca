"""P2 dashboard scaling: the overview fragment and the saga list API at two table sizes."""
import statistics
import time
from datetime import timedelta

from sqlalchemy import insert, text

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga import queries
from bench.counters import installed

BATCH = 5000
STEPS = ("ValidateUser", "ReserveInventory", "CreateOrder", "ProcessPayment", "SendNotification")
EVENTS = ("saga.created", "saga.started", "step.succeeded", "saga.completed")
ACTIVE = 20  # sagas still running, whatever the table size: a steady state


def fill(app, first, last):
    """Bulk-insert sagas first..last (ids), each with five steps and four events."""
    now = clock.now()
    with app.app_context():
        for start in range(first, last + 1, BATCH):
            ids = range(start, min(start + BATCH, last + 1))
            db.session.execute(insert(Saga), [_saga(i, last, now - timedelta(seconds=last - i)) for i in ids])
            db.session.execute(insert(SagaStep), [_step(i, n, name) for i in ids for n, name in enumerate(STEPS)])
            db.session.execute(insert(SagaEvent), [_event(i, kind, now) for i in ids for kind in EVENTS])
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # what autovacuum would have done by now
            db.session.commit()
        db.session.remove()


def _saga(i, last, created):
    """One saga row: the newest ACTIVE ones running, older ones finished (1% FAILED, 3% COMPENSATED)."""
    if last - i < ACTIVE:
        status = "RUNNING"
    else:
        status = {0: "FAILED", 1: "COMPENSATED", 2: "COMPENSATED", 3: "COMPENSATED"}.get(i % 100, "COMPLETED")
    final = status != "RUNNING"
    return dict(id=i, type="order_placement", status=status, step_count=len(STEPS), current_step=4,
                payload={"user_id": 1, "product_id": 1, "quantity": 1},
                created_at=created, updated_at=created, deadline_at=created + timedelta(minutes=5),
                finished_at=created + timedelta(seconds=1) if final else None,
                error="ProcessPayment: declined" if status != "COMPLETED" and final else None)


def _step(saga_id, index, name):
    """One step row of a finished saga."""
    return dict(saga_id=saga_id, index=index, name=name, status="SUCCEEDED", attempts=1,
                timeout_seconds=30, result={})


def _event(saga_id, kind, now):
    """One history row."""
    return dict(saga_id=saga_id, type=kind, created_at=now, step_index=None, actor="orchestrator")


def probes(app, size):
    """What the dashboard polls: {name: callable returning an HTTP status (None: a direct query)}."""
    client = app.test_client()
    fragment = {"HX-Request": "true"}
    def get(url, headers=None):
        return lambda: client.get(url, headers=headers).status_code

    calls = {
        "overview fragment  GET / (HX-Request)": get("/", fragment),
        "saga list API      GET /api/sagas?limit=20": get("/api/sagas?limit=20"),
        "  filtered         ...&status=FAILED": get("/api/sagas?limit=20&status=FAILED"),
        "  deep page        ...&before=<middle id>": get(f"/api/sagas?limit=20&before={size // 2}"),
        "saga detail API    GET /api/sagas/<newest>": get(f"/api/sagas/{size}"),
    }
    for label, name in OVERVIEW_QUERIES:
        if hasattr(queries, name):  # the overview's own queries, timed one by one
            calls[f"  {label:<16} queries.{name}()"] = _in_context(app, getattr(queries, name))
    return calls


OVERVIEW_QUERIES = (("status counts", "status_counts"), ("throughput", "recent_throughput"))


def _in_context(app, query):
    """A probe that runs one query function in its own app context."""
    def probe():
        with app.app_context():
            query()
    return probe


def measure(apps, repeats):
    """{size: {probe: median ms, SQL per call, HTTP status}}; rounds alternate sizes and probes.

    `apps` maps a table size to an app on a database filled to that size. Alternating keeps
    both sizes under the same background load.
    """
    counters = installed()
    calls = {size: probes(app, size) for size, app in apps.items()}
    answers = {size: {name: probe() for name, probe in probes_.items()} for size, probes_ in calls.items()}
    for probes_ in calls.values():  # a second warm-up: templates, compiled SQL, query plans
        for probe in probes_.values():
            probe()
    timings = {size: {name: [] for name in probes_} for size, probes_ in calls.items()}
    statements = {size: dict.fromkeys(probes_, 0) for size, probes_ in calls.items()}
    for _ in range(repeats):
        for size, probes_ in calls.items():
            for name, probe in probes_.items():
                before = counters.values["sql statements"]
                started = time.perf_counter()
                probe()
                timings[size][name].append((time.perf_counter() - started) * 1000)
                statements[size][name] += counters.values["sql statements"] - before
    return {size: {name: {"ms": statistics.median(timings[size][name]), "sql": statements[size][name] / repeats,
                          "status": answers[size][name]} for name in probes_} for size, probes_ in calls.items()}
