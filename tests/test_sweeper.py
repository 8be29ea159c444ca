"""The recovery sweeper: every rule, with fakeredis and a clock the test moves."""
from datetime import timedelta

import pytest

from app import clock
from app.extensions import redis_connection
from app.saga import orchestrator
from app.saga.sweeper import sweep
from tests.conftest import run_jobs
from tests.helpers import compensation_order, place_order, saga_state, stock


@pytest.fixture
def later(monkeypatch):
    """Move the engine's clock forward by a number of seconds."""
    real_now = clock.now
    offset = {"seconds": 0}
    monkeypatch.setattr(clock, "now", lambda: real_now() + timedelta(seconds=offset["seconds"]))

    def advance(seconds):
        offset["seconds"] += seconds
    return advance


def sweep_now(app):
    """Run one sweep in an app context."""
    with app.app_context():
        return dict(sweep())


def lose_redis(app):
    """Redis loses everything: queued, scheduled and started jobs."""
    with app.app_context():
        redis_connection().flushdb()


def test_a_saga_whose_next_job_was_lost_is_requeued_and_completes(app, client, shop, later):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    lose_redis(app)
    assert sweep_now(app) == {}  # still within the grace period: maybe just slow
    later(60)
    assert sweep_now(app) == {"requeued": 1}
    assert sweep_now(app) == {}  # a second sweeper finds the job alive and does nothing
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert ("sweeper.requeued", None) in state["events"]


def test_a_step_whose_worker_died_counts_as_a_timed_out_attempt_and_is_retried(app, client, shop, later):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    lose_redis(app)
    with app.app_context():
        assert orchestrator._claim(saga_id, 0) is not None  # claimed, then the worker is SIGKILLed
    later(10)
    assert sweep_now(app) == {}  # within timeout + grace: the attempt may still be running
    later(60)
    assert sweep_now(app) == {"attempt_timed_out": 1}
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["steps"]["ValidateUser"] == ("SUCCEEDED", 2, 0)
    detail = client.get(f"/api/sagas/{saga_id}").json
    assert detail["steps"][0]["history"][0]["error_type"] == "Timeout"


def test_a_dead_step_with_no_attempt_left_is_compensated_itself(app, client, shop, later):
    app.config["SAGA_RETRY_ATTEMPTS"] = 1
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    with app.app_context():
        for index in range(3):
            orchestrator.run_step(saga_id, index)
        lose_redis(app)
        orchestrator._claim(saga_id, 3)  # ProcessPayment claimed, worker dies
    later(120)
    assert sweep_now(app) == {"attempt_timed_out": 1}
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ["ProcessPayment", "CreateOrder", "ReserveInventory"]
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_a_saga_past_its_deadline_is_compensated(app, client, shop, later):
    app.config["SAGA_RETRY_DELAY"] = 10_000
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "transient", "times": 1}}).json["saga_id"]
    run_jobs(app)
    assert saga_state(app, saga_id)["steps"]["ProcessPayment"][0] == "RETRYING"
    later(app.config["SAGA_TIMEOUT"] + 1)
    assert sweep_now(app) == {"deadline": 1}
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ["CreateOrder", "ReserveInventory"]
    assert ("sweeper.deadline", None) in state["events"]


def test_a_compensation_past_its_deadline_ends_the_saga_failed(app, client, shop, later):
    app.config["SAGA_RETRY_DELAY"] = 10_000
    faults = {"CreateOrder": {"kind": "compensation"}, "ProcessPayment": {"kind": "permanent"}}
    saga_id = place_order(client, shop["ada"], shop["keyboard"], faults=faults).json["saga_id"]
    run_jobs(app)
    assert saga_state(app, saga_id)["steps"]["CreateOrder"][0] == "COMPENSATION_RETRYING"
    later(app.config["SAGA_COMPENSATION_TIMEOUT"] + 1)
    assert sweep_now(app) == {"compensation_deadline": 1}
    state = saga_state(app, saga_id)
    assert state["status"] == "FAILED"
    assert state["steps"]["CreateOrder"][0] == "COMPENSATION_FAILED"
    assert state["steps"]["ReserveInventory"][0] == "SUCCEEDED"  # left for the operator's retry


def test_a_compensation_whose_job_was_lost_is_requeued(app, client, shop, later):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"SendNotification": {"kind": "permanent"}}).json["saga_id"]
    with app.app_context():
        for index in range(5):
            orchestrator.run_step(saga_id, index)
    lose_redis(app)  # the first compensation job is gone
    later(60)
    assert sweep_now(app) == {"requeued": 1}
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ["ProcessPayment", "CreateOrder", "ReserveInventory"]


def test_healthy_and_finished_sagas_are_left_alone(app, client, shop, later):
    done = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    run_jobs(app)
    place_order(client, shop["ada"], shop["keyboard"])  # queued, job alive
    later(60)
    assert sweep_now(app) == {}
    assert saga_state(app, done)["status"] == "COMPLETED"


def test_the_sweep_command_reports_its_repairs(app, client, shop, later):
    place_order(client, shop["ada"], shop["keyboard"])
    lose_redis(app)
    later(60)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0
    assert "requeued: 1" in result.output


def test_an_overdue_delayed_retry_is_requeued_when_no_scheduler_moves_it(app, client, shop, later):
    app.config["SAGA_RETRY_DELAY"] = 2
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"CreateOrder": {"kind": "transient", "times": 1}}).json["saga_id"]
    with app.app_context():
        for index in range(3):
            orchestrator.run_step(saga_id, index)  # CreateOrder failed once: its retry is delayed
    later(5)
    assert sweep_now(app) == {}  # the retry is due, but within the grace period
    later(60)  # RQ's scheduler died with its worker: nobody moves the delayed job
    assert sweep_now(app) == {"requeued": 1}
    run_jobs(app)
    assert saga_state(app, saga_id)["status"] == "COMPLETED"
