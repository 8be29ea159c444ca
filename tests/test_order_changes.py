"""Changing confirmed orders end to end — cancel with a refund, change the quantity — through the
API and RQ jobs (real SimpleWorker), asserting the final state of every record, for success and
for a failure at every step."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import compensation_order, place_order, saga_state
from tests.place_helpers import OUTLASTS_RETRIES, REFUSED, created, run, world

CANCEL = ["BeginCancellation", "RefundPayment", "RestockInventory", "CancelOrder", "SendNotification"]
UPDATE = ["BeginChange", "ReserveInventory", "UpdateOrder", "SettleDifference", "RestockInventory",
          "SendNotification"]


@pytest.fixture
def ordered(app, client, shop):
    """Ada's confirmed order of 2 keyboards at 50.00: (saga id, order id)."""
    saga_id = place_order(client, shop["ada"], shop["keyboard"], quantity=2).json["saga_id"]
    run_jobs(app)
    return saga_id, created(app, "order", saga_id)


def cancel(app, client, order_id, faults=None):
    """Cancel an order through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/orders/{order_id}/cancel", {}, faults)


def cancelled(before, shop, order_id, saga_id, quantity=2, paid=10_000):
    """The world after saga `saga_id` cancelled the keyboard order."""
    return {
        **before,
        "products": {**before["products"], shop["keyboard"]: (10, 0)},
        "orders": {order_id: ("CANCELLED", quantity, paid)},
        "reservations": before["reservations"] + [(saga_id, shop["keyboard"], quantity, "RESTOCKED")],
        "payments": before["payments"] + [(saga_id, "primary", -paid, "CAPTURED")],
        "paid": {f"order:{order_id}": 0},
        "notifications": before["notifications"] + [(saga_id, "order_cancelled")],
    }


def test_cancellation_refunds_in_full_and_restocks(app, client, shop, ordered):
    before = world(app)
    assert before["products"][shop["keyboard"]] == (8, 0)
    saga_id = cancel(app, client, ordered[1])
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in CANCEL}
    assert world(app) == cancelled(before, shop, ordered[1], saga_id)


@pytest.mark.parametrize("failing, undone", [("BeginCancellation", []),
                                             ("RefundPayment", ["BeginCancellation"])])
def test_cancellation_failing_up_to_the_refund_leaves_the_order_as_it_was(app, client, ordered,
                                                                           failing, undone):
    before = world(app)
    saga_id = cancel(app, client, ordered[1], {failing: REFUSED})
    state = saga_state(app, saga_id)
    assert (state["status"], compensation_order(state)) == ("COMPENSATED", undone)
    assert world(app) == before


@pytest.mark.parametrize("failing", CANCEL[2:])
def test_cancellation_failures_after_the_refund_are_retried_until_done(app, client, shop, ordered, failing):
    before = world(app)
    saga_id = cancel(app, client, ordered[1], {failing: OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"][failing]) == ("COMPLETED", ("SUCCEEDED", 6, 0))
    assert world(app) == cancelled(before, shop, ordered[1], saga_id)


def change_quantity(app, client, order_id, quantity, faults=None):
    """Change an order's quantity through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/orders/{order_id}/quantity", {"quantity": quantity}, faults)


def grown(before, shop, order_id, saga_id):
    """The world after saga `saga_id` took the keyboard order from 2 to 5 units."""
    return {
        **before,
        "products": {**before["products"], shop["keyboard"]: (5, 0)},
        "orders": {order_id: ("CONFIRMED", 5, 25_000)},
        "reservations": before["reservations"] + [(saga_id, shop["keyboard"], 3, "COMMITTED")],
        "payments": before["payments"] + [(saga_id, "primary", 15_000, "CAPTURED")],
        "paid": {f"order:{order_id}": 25_000},
        "notifications": before["notifications"] + [(saga_id, "order_changed")],
    }


def test_a_larger_quantity_sells_more_units_and_charges_the_difference(app, client, shop, ordered):
    before = world(app)
    saga_id = change_quantity(app, client, ordered[1], 5)
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in UPDATE}
    assert world(app) == grown(before, shop, ordered[1], saga_id)


def test_a_smaller_quantity_restocks_and_pays_the_difference_back(app, client, shop, ordered):
    before = world(app)
    saga_id = change_quantity(app, client, ordered[1], 1)
    assert world(app) == {
        **before,
        "products": {**before["products"], shop["keyboard"]: (9, 0)},
        "orders": {ordered[1]: ("CONFIRMED", 1, 5_000)},
        "reservations": before["reservations"] + [(saga_id, shop["keyboard"], 1, "RESTOCKED")],
        "payments": before["payments"] + [(saga_id, "primary", -5_000, "CAPTURED")],
        "paid": {f"order:{ordered[1]}": 5_000},
        "notifications": before["notifications"] + [(saga_id, "order_changed")],
    }


UPDATE_UNDO = {
    "BeginChange": [],
    "ReserveInventory": ["BeginChange"],
    "UpdateOrder": ["ReserveInventory", "BeginChange"],
    "SettleDifference": ["UpdateOrder", "ReserveInventory", "BeginChange"],
}


@pytest.mark.parametrize("failing", UPDATE_UNDO)
def test_a_change_failing_up_to_the_settlement_leaves_the_order_as_it_was(app, client, shop, ordered,
                                                                           failing):
    before = world(app)
    saga_id = change_quantity(app, client, ordered[1], 5, {failing: REFUSED})
    state = saga_state(app, saga_id)
    assert (state["status"], compensation_order(state)) == ("COMPENSATED", UPDATE_UNDO[failing])
    released = [(saga_id, shop["keyboard"], 3, "RELEASED")] if UPDATE.index(failing) > 1 else []
    assert world(app) == {**before, "reservations": before["reservations"] + released}


@pytest.mark.parametrize("failing", UPDATE[4:])
def test_change_failures_after_the_settlement_are_retried_until_done(app, client, shop, ordered, failing):
    before = world(app)
    saga_id = change_quantity(app, client, ordered[1], 5, {failing: OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"][failing]) == ("COMPLETED", ("SUCCEEDED", 6, 0))
    assert world(app) == grown(before, shop, ordered[1], saga_id)


def test_more_units_than_in_stock_are_refused_and_compensated(app, client, ordered):
    before = world(app)
    saga_id = change_quantity(app, client, ordered[1], 11)
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"]["ReserveInventory"][0]) == ("COMPENSATED", "FAILED")
    assert world(app) == before


def test_cancelling_a_changed_order_refunds_everything_it_was_charged(app, client, shop, ordered):
    change_quantity(app, client, ordered[1], 3)
    before = world(app)
    assert before["paid"] == {f"order:{ordered[1]}": 15_000}
    saga_id = cancel(app, client, ordered[1])
    assert world(app) == cancelled(before, shop, ordered[1], saga_id, quantity=3, paid=15_000)
