"""Moving a booking to another slot end to end, through the API and RQ jobs (real SimpleWorker):
the exact final state of every record for success and for a failure at every step."""
import pytest

from tests.helpers import compensation_order, saga_state
from tests.place_helpers import (OUTLASTS_RETRIES, REFUSED, book, booked, created, run, venue,  # noqa: F401
                                 world)

MOVE = ["BeginChange", "HoldSlot", "MoveBooking", "SettleDifference", "ReleaseOldSlot", "SendNotification"]


def move(app, client, booking_id, slot_id, faults=None):
    """Move a booking through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/bookings/{booking_id}/move", {"slot_id": slot_id}, faults)


def moved(before, venue, booking_id, saga_id, gateway="primary"):
    """The world after saga `saga_id` moved the 40.00 booking from "early" to "late" (65.00)."""
    return {
        **before,
        "slots": {**before["slots"], venue["early"]: (2, 0, 0), venue["late"]: (1, 0, 1)},
        "bookings": {booking_id: ("CONFIRMED", venue["late"], 6_500)},
        "holds": before["holds"] + [(saga_id, "slot", venue["late"], "COMMITTED"),
                                    (saga_id, "slot", venue["early"], "FREED")],
        "payments": before["payments"] + [(saga_id, gateway, 2_500, "CAPTURED")],
        "paid": {f"booking:{booking_id}": 6_500},
        "notifications": before["notifications"] + [(saga_id, "booking_changed")],
    }


def test_moving_to_a_dearer_slot_charges_the_difference(app, client, venue, booked):
    before = world(app)
    saga_id = move(app, client, booked[1], venue["late"])
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in MOVE}
    assert world(app) == moved(before, venue, booked[1], saga_id)


def test_moving_to_a_cheaper_slot_pays_the_difference_back(app, client, venue):
    booking_id = created(app, "booking", book(app, client, venue, slot="late"))
    saga_id = move(app, client, booking_id, venue["early"])
    after = world(app)
    assert after["bookings"][booking_id] == ("CONFIRMED", venue["early"], 4_000)
    assert after["payments"][-1] == (saga_id, "primary", -2_500, "CAPTURED")
    assert after["paid"] == {f"booking:{booking_id}": 4_000}
    assert (after["slots"][venue["early"]], after["slots"][venue["late"]]) == ((1, 0, 1), (2, 0, 0))


MOVE_UNDO = {
    "BeginChange": [],
    "HoldSlot": ["BeginChange"],
    "MoveBooking": ["HoldSlot", "BeginChange"],
    "SettleDifference": ["MoveBooking", "HoldSlot", "BeginChange"],
}


@pytest.mark.parametrize("failing", MOVE_UNDO)
def test_move_failing_up_to_the_settlement_leaves_the_booking_where_it_was(app, client, venue, booked,
                                                                            failing):
    before = world(app)
    saga_id = move(app, client, booked[1], venue["late"], {failing: REFUSED})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == MOVE_UNDO[failing]
    released = [(saga_id, "slot", venue["late"], "RELEASED")] if MOVE.index(failing) > 1 else []
    assert world(app) == {**before, "holds": before["holds"] + released}


@pytest.mark.parametrize("failing", MOVE[4:])
def test_move_failures_after_the_settlement_are_retried_until_done(app, client, venue, booked, failing):
    before = world(app)
    saga_id = move(app, client, booked[1], venue["late"], {failing: OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"][failing]) == ("COMPLETED", ("SUCCEEDED", 6, 0))
    assert world(app) == moved(before, venue, booked[1], saga_id)


def test_move_settles_through_the_backup_gateway_when_the_primary_refuses(app, client, venue, booked):
    before = world(app)
    saga_id = move(app, client, booked[1], venue["late"], {"SettleDifference": {"kind": "fallback"}})
    assert world(app) == moved(before, venue, booked[1], saga_id, gateway="backup")


def test_moving_into_a_full_slot_is_compensated(app, client, venue, booked):
    book(app, client, venue, slot="single")
    before = world(app)
    saga_id = move(app, client, booked[1], venue["single"])
    assert saga_state(app, saga_id)["steps"]["HoldSlot"][0] == "FAILED"
    assert world(app) == before
