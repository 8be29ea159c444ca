"""Generic engine features on test-only saga types: pivot steps, results passed between steps,
and parallel compensation."""
import pytest
from rq import Queue, SimpleWorker

from app.errors import PermanentError
from app.extensions import redis_connection
from app.saga.definition import SagaDefinition, Step, register
from app.saga.submission import submit
from tests.conftest import run_jobs
from tests.helpers import compensation_order, saga_state

CALLS = []
FLAKY = {"left": 0}


def effect(name):
    """An action or compensation that only records that it ran."""
    def run(ctx):
        CALLS.append((ctx.saga_id, name))
        return {"by": name}
    return run


def count_up(ctx):
    """Reads the result of an earlier step and builds on it."""
    return {"total": ctx.result_of("Start", "value") + ctx.payload["add"]}


def start(ctx):
    """The first step: produces a value later steps read."""
    return {"value": 40}


def flaky_after_pivot(ctx):
    """Rejects permanently while FLAKY says so, then succeeds."""
    if FLAKY["left"] > 0:
        FLAKY["left"] -= 1
        raise PermanentError("downstream said no")
    return {"ok": True}


PIVOTING = register(SagaDefinition(
    name="test_pivot",
    steps=(
        Step("Start", start, compensation=effect("undo Start")),
        Step("Charge", effect("Charge"), compensation=effect("undo Charge"), pivot=True),
        Step("Count", count_up),
        Step("Notify", flaky_after_pivot),
    ),
))

PARALLEL = register(SagaDefinition(
    name="test_parallel",
    parallel_compensation=True,
    steps=tuple(Step(f"S{i}", effect(f"S{i}"), compensation=effect(f"undo S{i}")) for i in range(3))
    + (Step("Fail", effect("Fail")),),
))


@pytest.fixture(autouse=True)
def clean_slate():
    CALLS.clear()
    FLAKY["left"] = 0


def start_saga(app, saga_type, payload):
    """Submit a saga of a test type."""
    with app.app_context():
        return submit(saga_type, payload)[0].id


def test_steps_read_the_results_of_earlier_steps(app):
    saga_id = start_saga(app, "test_pivot", {"add": 2})
    run_jobs(app)
    detail = app.test_client().get(f"/api/sagas/{saga_id}").get_json()
    assert detail["status"] == "COMPLETED"
    assert detail["context"]["Start"] == {"value": 40}
    assert detail["context"]["Count"] == {"total": 42}


def test_failures_after_the_pivot_are_retried_until_they_succeed(app):
    app.config["SAGA_RETRY_ATTEMPTS"] = 2
    FLAKY["left"] = 4  # permanent rejections, more than the attempt limit
    saga_id = start_saga(app, "test_pivot", {"add": 1})
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["steps"]["Notify"] == ("SUCCEEDED", 5, 0)
    assert compensation_order(state) == []


def test_a_failure_before_the_pivot_compensates_as_usual(app):
    saga_id = start_saga(app, "test_pivot", {"add": 1, "faults": {"Charge": {"kind": "permanent"}}})
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ["Start"]


def test_cancelling_past_the_pivot_is_refused(app, client):
    FLAKY["left"] = 1
    app.config["SAGA_RETRY_DELAY"] = 60
    saga_id = start_saga(app, "test_pivot", {"add": 1})
    run_jobs(app)  # Notify was rejected once and waits for its retry
    response = client.post(f"/api/sagas/{saga_id}/cancel", json={"reason": "too late"})
    assert response.status_code == 409
    assert "pivot" in response.json["message"]


def test_parallel_compensation_requests_every_undo_at_once(app):
    saga_id = start_saga(app, "test_parallel", {"faults": {"Fail": {"kind": "permanent"}}})
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        for _ in range(4):  # the four forward steps, one job at a time
            SimpleWorker([queue], connection=queue.connection).work(burst=True, max_jobs=1)
        assert sorted(job.args[1] for job in queue.jobs) == [0, 1, 2]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert sorted(compensation_order(state)) == ["S0", "S1", "S2"]
