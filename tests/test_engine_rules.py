"""The correctness rules: claims, idempotent effects, the transition table, idempotent submission."""
import pytest

from app.extensions import db
from app.saga import dispatch
from app.saga.errors import IllegalTransition
from app.saga.states import check_saga_move, check_step_move
from app.services import inventory, payments
from tests.conftest import run_jobs
from tests.helpers import compensation_order, place_order, saga_state, stock


def test_a_step_job_delivered_twice_has_one_effect(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"], 2).json["saga_id"]
    with app.app_context():  # a second delivery of every job, as an at-least-once queue may do
        for index in range(5):
            dispatch.enqueue(dispatch.JobRequest("jobs.process_step", (saga_id, index), 5, f"dup-run-{index}"))
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["steps"]["ReserveInventory"] == ("SUCCEEDED", 1, 0)
    assert state["payments"] == [("primary", "CAPTURED")]
    assert stock(app, shop["keyboard"]) == (8, 0)
    assert [kind for kind, _ in state["events"]].count("step.started") == 5


def test_a_compensation_job_run_again_is_a_no_op(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"], 2,
                          faults={"SendNotification": {"kind": "permanent"}}).json["saga_id"]
    run_jobs(app)
    before = saga_state(app, saga_id)
    with app.app_context():
        for index in range(5):
            dispatch.enqueue(dispatch.JobRequest("jobs.compensate_step", (saga_id, index), 5, f"dup-undo-{index}"))
        dispatch.enqueue(dispatch.JobRequest("jobs.complete_saga", (saga_id,), 5, "dup-complete"))
    run_jobs(app)
    assert saga_state(app, saga_id) == before
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_compensating_services_twice_changes_nothing_more(app, client, shop):
    with app.app_context():
        inventory.reserve_stock(99, shop["keyboard"], 4)
        payments.capture_payment(99, None, 1_000)
        db.session.commit()
        for _ in range(2):
            inventory.release_stock(99, shop["keyboard"])
            payments.refund_payment(99)
            db.session.commit()
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_reserving_twice_for_one_saga_reserves_once(app, shop):
    with app.app_context():
        first = inventory.reserve_stock(7, shop["keyboard"], 3)
        db.session.commit()
        second = inventory.reserve_stock(7, shop["keyboard"], 3)
        assert first.id == second.id
    assert stock(app, shop["keyboard"]) == (7, 3)


@pytest.mark.parametrize("move", [("COMPLETED", "RUNNING"), ("PENDING", "COMPLETED"),
                                  ("COMPENSATED", "COMPENSATING")])
def test_illegal_saga_transitions_raise(move):
    with pytest.raises(IllegalTransition):
        check_saga_move(*move)


@pytest.mark.parametrize("move", [("PENDING", "SUCCEEDED"), ("SUCCEEDED", "RUNNING"),
                                  ("COMPENSATED", "COMPENSATING"), ("SKIPPED", "RUNNING")])
def test_illegal_step_transitions_raise(move):
    with pytest.raises(IllegalTransition):
        check_step_move(*move)


def test_same_idempotency_key_gives_one_saga(app, client, shop):
    first = place_order(client, shop["ada"], shop["keyboard"], key="order-abc")
    second = place_order(client, shop["ada"], shop["keyboard"], key="order-abc")
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json["saga_id"] == second.json["saga_id"]
    run_jobs(app)
    assert stock(app, shop["keyboard"]) == (9, 0)
    assert len(client.get("/api/sagas").json["items"]) == 1


def test_reusing_an_idempotency_key_for_another_request_conflicts(client, shop):
    place_order(client, shop["ada"], shop["keyboard"], key="order-xyz")
    response = place_order(client, shop["ada"], shop["keyboard"], quantity=2, key="order-xyz")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json["message"]


def test_cancel_while_retrying_compensates_completed_steps(app, client, shop):
    app.config["SAGA_RETRY_DELAY"] = 60
    saga_id = place_order(client, shop["ada"], shop["keyboard"], 2,
                          faults={"ProcessPayment": {"kind": "transient", "times": 1}}).json["saga_id"]
    _run_until_retrying(app)
    response = client.post(f"/api/sagas/{saga_id}/cancel", json={"reason": "customer called", "operator": "sam"})
    assert response.status_code == 200
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["steps"]["ProcessPayment"][0] == "FAILED"  # a clean rejection: nothing to undo
    assert compensation_order(state) == ["CreateOrder", "ReserveInventory"]
    assert stock(app, shop["keyboard"]) == (10, 0)
    events = client.get(f"/api/sagas/{saga_id}").json["events"]
    cancel = next(e for e in events if e["type"] == "saga.cancel_requested")
    assert (cancel["actor"], cancel["detail"]) == ("sam", "customer called")


def _run_until_retrying(app):
    """Run the queued jobs once, leaving the delayed retry in RQ's scheduled registry."""
    from rq import Queue, SimpleWorker

    from app.extensions import redis_connection
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")
        assert queue.scheduled_job_registry.count == 1


def test_cancel_of_a_finished_saga_conflicts(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    run_jobs(app)
    response = client.post(f"/api/sagas/{saga_id}/cancel", json={})
    assert response.status_code == 409
    assert "COMPLETED" in response.json["message"]


def test_operator_retries_a_failed_compensation_then_it_succeeds(app, client, shop):
    faults = {"CreateOrder": {"kind": "compensation"}, "SendNotification": {"kind": "permanent"}}
    saga_id = place_order(client, shop["ada"], shop["keyboard"], faults=faults).json["saga_id"]
    run_jobs(app)
    assert saga_state(app, saga_id)["status"] == "FAILED"
    with app.app_context():  # the outside world recovers
        from app.models import Saga
        saga = db.session.get(Saga, saga_id)
        saga.payload = {**saga.payload, "faults": {}}
        db.session.commit()
    response = client.post(f"/api/sagas/{saga_id}/retry", json={"reason": "gateway back", "operator": "sam"})
    assert response.status_code == 200
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["steps"]["CreateOrder"] == ("COMPENSATED", 1, 6)
    assert state["order"] == "CANCELLED"


def test_operator_resolves_a_failed_compensation_by_hand(app, client, shop):
    faults = {"CreateOrder": {"kind": "compensation"}, "SendNotification": {"kind": "permanent"}}
    saga_id = place_order(client, shop["ada"], shop["keyboard"], faults=faults).json["saga_id"]
    run_jobs(app)
    missing_reason = client.post(f"/api/sagas/{saga_id}/steps/2/resolve", json={})
    assert missing_reason.status_code == 422
    assert missing_reason.json["fields"] == ["reason"]
    wrong_step = client.post(f"/api/sagas/{saga_id}/steps/1/resolve", json={"reason": "x"})
    assert wrong_step.status_code == 409
    response = client.post(f"/api/sagas/{saga_id}/steps/2/resolve",
                           json={"reason": "order cancelled in the back office", "operator": "sam"})
    assert response.status_code == 200
    assert response.json["status"] == "COMPENSATED"
    assert response.json["steps"][2]["status"] == "RESOLVED"
    assert response.json["events"][-1]["type"] == "saga.resolved"
