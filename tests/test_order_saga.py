"""The order-placement saga end to end: API → RQ jobs (real SimpleWorker) → final state."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import compensation_order, place_order, saga_state, stock

STEPS = ["ValidateUser", "ReserveInventory", "CreateOrder", "ProcessPayment", "SendNotification"]


def test_happy_path_completes_with_exact_final_state(app, client, shop):
    response = place_order(client, shop["ada"], shop["keyboard"], quantity=3)
    assert response.status_code == 202
    saga_id = response.json["saga_id"]
    assert response.json["url"] == f"/api/sagas/{saga_id}"
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["steps"] == {name: ("SUCCEEDED", 1, 0) for name in STEPS}
    assert state["order"] == "CONFIRMED"
    assert state["payments"] == [("primary", "CAPTURED")]
    assert state["reservation"] == "COMMITTED"
    assert state["notifications"] == ["order_confirmed"]
    assert stock(app, shop["keyboard"]) == (7, 0)
    assert state["events"][0] == ("saga.created", None)
    assert state["events"][-1] == ("saga.completed", None)


# For a permanent failure at each step: which compensations run, in which order.
EXPECTED_UNDO = {
    "ValidateUser": [],
    "ReserveInventory": [],
    "CreateOrder": ["ReserveInventory"],
    "ProcessPayment": ["CreateOrder", "ReserveInventory"],
    "SendNotification": ["ProcessPayment", "CreateOrder", "ReserveInventory"],
}


@pytest.mark.parametrize("failing", STEPS)
def test_permanent_failure_compensates_earlier_steps_in_reverse(app, client, shop, failing):
    saga_id = place_order(client, shop["ada"], shop["keyboard"], 2,
                          faults={failing: {"kind": "permanent"}}).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == EXPECTED_UNDO[failing]
    assert stock(app, shop["keyboard"]) == (10, 0)
    failed_at = STEPS.index(failing)
    assert state["steps"][failing][0] == "FAILED"
    assert all(state["steps"][name][0] == "SKIPPED" for name in STEPS[failed_at + 1:])
    assert state["order"] == ("CANCELLED" if failed_at > 2 else None)
    assert state["reservation"] == ("RELEASED" if failed_at > 1 else None)
    assert state["payments"] == ([("primary", "REFUNDED")] if failed_at > 3 else [])
    assert state["notifications"] == []


def test_transient_failures_then_success_show_every_attempt(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "transient", "times": 2}}).json["saga_id"]
    run_jobs(app)
    detail = client.get(f"/api/sagas/{saga_id}").json
    assert detail["status"] == "COMPLETED"
    assert detail["retries"] == 2
    payment = detail["steps"][3]
    assert payment["attempts"] == 3
    assert [a["outcome"] for a in payment["history"]] == ["will retry", "will retry", "succeeded"]
    assert payment["history"][0]["error"] == "simulated outage (1 of 2)"
    assert all(a["duration_ms"] is not None for a in payment["history"])


def test_retries_exhausted_compensate(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"CreateOrder": {"kind": "transient", "times": 5}}).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["steps"]["CreateOrder"] == ("FAILED", 3, 0)
    assert compensation_order(state) == ["ReserveInventory"]
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_permanent_failure_with_successful_fallback_goes_on(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "fallback"}}).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["payments"] == [("backup", "CAPTURED")]
    assert ("step.fallback", "ProcessPayment") in state["events"]


def test_gateway_decline_is_recorded_and_compensated(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["luxury"]).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["payments"] == [("primary", "DECLINED"), ("backup", "DECLINED")]
    assert state["order"] == "CANCELLED"
    assert stock(app, shop["luxury"]) == (5, 0)


def test_hanging_step_times_out_and_is_compensated_itself(app, client, shop):
    app.config["SAGA_STEP_TIMEOUT"] = 1
    app.config["SAGA_RETRY_ATTEMPTS"] = 2
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "hang"}}).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["steps"]["ProcessPayment"] == ("COMPENSATED", 2, 1)
    assert [kind for kind, name in state["events"] if name == "ProcessPayment"].count("step.timed_out") == 1
    assert compensation_order(state) == ["ProcessPayment", "CreateOrder", "ReserveInventory"]
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_compensation_failure_leaves_saga_failed_and_still_undoes_the_rest(app, client, shop):
    faults = {"CreateOrder": {"kind": "compensation"}, "SendNotification": {"kind": "permanent"}}
    saga_id = place_order(client, shop["ada"], shop["keyboard"], faults=faults).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "FAILED"
    assert state["steps"]["CreateOrder"] == ("COMPENSATION_FAILED", 1, 5)
    assert compensation_order(state) == ["ProcessPayment", "ReserveInventory"]
    assert state["payments"] == [("primary", "REFUNDED")]
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_inactive_user_is_rejected_without_touching_stock(app, client, shop):
    saga_id = place_order(client, shop["ivan"], shop["keyboard"]).json["saga_id"]
    run_jobs(app)
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert state["steps"]["ValidateUser"][0] == "FAILED"
    assert stock(app, shop["keyboard"]) == (10, 0)


def test_out_of_stock_never_goes_below_zero(app, client, shop):
    first = place_order(client, shop["ada"], shop["mouse"]).json["saga_id"]
    second = place_order(client, shop["ada"], shop["mouse"]).json["saga_id"]
    run_jobs(app)
    assert saga_state(app, first)["status"] == "COMPLETED"
    assert saga_state(app, second)["status"] == "COMPENSATED"
    assert stock(app, shop["mouse"]) == (0, 0)


def test_retry_with_delay_goes_through_rqs_scheduler(app, client, shop):
    app.config["SAGA_RETRY_DELAY"] = 1
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ValidateUser": {"kind": "transient", "times": 1}}).json["saga_id"]
    run_jobs(app)
    detail = client.get(f"/api/sagas/{saga_id}").json
    assert detail["status"] == "COMPLETED"
    first, second = detail["steps"][0]["history"]
    assert first["outcome"] == "will retry"
    assert second["started_at"] > first["ended_at"]
