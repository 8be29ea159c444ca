"""Bookings end to end — book, cancel with a refund — through the API and RQ jobs (real
SimpleWorker), asserting the final state of every record, for success and for a failure at
every step."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import compensation_order, saga_state
from tests.place_helpers import (OUTLASTS_RETRIES, REFUSED, book, booked, created, run,  # noqa: F401
                                 saga_status, start, venue, world)

BOOK = ["ValidateUser", "HoldSlot", "CreateBooking", "ProcessPayment", "SendNotification"]
CANCEL = ["BeginCancellation", "RefundPayment", "ReleaseSlot", "CancelBooking", "SendNotification"]


def test_booking_confirms_takes_a_place_and_charges_once(app, client, venue):
    before = world(app)
    saga_id = book(app, client, venue)
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in BOOK}
    booking_id = created(app, "booking", saga_id)
    assert world(app) == {
        **before,
        "slots": {**before["slots"], venue["early"]: (1, 0, 1)},
        "bookings": {booking_id: ("CONFIRMED", venue["early"], 4_000)},
        "holds": [(saga_id, "slot", venue["early"], "COMMITTED")],
        "payments": [(saga_id, "primary", 4_000, "CAPTURED")],
        "paid": {f"booking:{booking_id}": 4_000},
        "notifications": [(saga_id, "booking_confirmed")],
    }


BOOK_UNDO = {
    "ValidateUser": [],
    "HoldSlot": [],
    "CreateBooking": ["HoldSlot"],
    "ProcessPayment": ["CreateBooking", "HoldSlot"],
    "SendNotification": ["ProcessPayment", "CreateBooking", "HoldSlot"],
}


@pytest.mark.parametrize("failing", BOOK)
def test_booking_failure_at_any_step_undoes_the_earlier_ones(app, client, venue, failing):
    before = world(app)
    saga_id = book(app, client, venue, faults={failing: REFUSED})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == BOOK_UNDO[failing]
    at, booking_id = BOOK.index(failing), created(app, "booking", saga_id)
    assert world(app) == {
        **before,
        "bookings": {booking_id: ("CANCELLED", venue["early"], 4_000)} if at > 2 else {},
        "holds": [(saga_id, "slot", venue["early"], "RELEASED")] if at > 1 else [],
        "payments": [(saga_id, "primary", 4_000, "REFUNDED")] if at > 3 else [],
    }


def test_a_full_slot_is_never_overbooked(app, client, venue):
    first = book(app, client, venue, slot="single")
    second = book(app, client, venue, slot="single")
    assert (saga_status(app, first), saga_status(app, second)) == ("COMPLETED", "COMPENSATED")
    assert saga_state(app, second)["steps"]["HoldSlot"][0] == "FAILED"
    assert world(app)["slots"][venue["single"]] == (0, 0, 1)


def cancel(app, client, booking_id, faults=None):
    """Cancel a booking through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/bookings/{booking_id}/cancel", {}, faults)


def cancelled(before, venue, booking_id, saga_id):
    """The world after saga `saga_id` cancelled the 40.00 booking of the "early" slot."""
    return {
        **before,
        "slots": {**before["slots"], venue["early"]: (2, 0, 0)},
        "bookings": {booking_id: ("CANCELLED", venue["early"], 4_000)},
        "holds": before["holds"] + [(saga_id, "slot", venue["early"], "FREED")],
        "payments": before["payments"] + [(saga_id, "primary", -4_000, "CAPTURED")],
        "paid": {f"booking:{booking_id}": 0},
        "notifications": before["notifications"] + [(saga_id, "booking_cancelled")],
    }


def test_cancellation_refunds_in_full_and_frees_the_place(app, client, venue, booked):
    before = world(app)
    saga_id = cancel(app, client, booked[1])
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in CANCEL}
    assert world(app) == cancelled(before, venue, booked[1], saga_id)


@pytest.mark.parametrize("failing, undone", [("BeginCancellation", []),
                                             ("RefundPayment", ["BeginCancellation"])])
def test_cancellation_failing_up_to_the_refund_leaves_the_booking_as_it_was(app, client, booked,
                                                                             failing, undone):
    before = world(app)
    saga_id = cancel(app, client, booked[1], {failing: REFUSED})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == undone
    assert world(app) == before


@pytest.mark.parametrize("failing", CANCEL[2:])
def test_cancellation_failures_after_the_refund_are_retried_until_done(app, client, venue, booked, failing):
    before = world(app)
    saga_id = cancel(app, client, booked[1], {failing: OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPLETED"
    assert state["steps"][failing] == ("SUCCEEDED", 6, 0)
    assert world(app) == cancelled(before, venue, booked[1], saga_id)


def test_after_the_refund_a_refused_step_waits_for_its_retry_and_cannot_be_cancelled(app, client, venue,
                                                                                     booked):
    app.config["SAGA_RETRY_DELAY"] = 60
    before = world(app)
    saga_id = cancel(app, client, booked[1], {"CancelBooking": REFUSED})
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"]["CancelBooking"]) == ("RUNNING", ("RETRYING", 1, 0))
    expected = cancelled(before, venue, booked[1], saga_id)
    assert world(app) == {**expected, "bookings": {booked[1]: ("CANCELLING", venue["early"], 4_000)},
                          "notifications": before["notifications"]}
    assert client.post(f"/api/sagas/{saga_id}/cancel", json={}).status_code == 409


def test_a_refund_that_timed_out_is_compensated_itself(app, client, booked):
    app.config["SAGA_STEP_TIMEOUT"] = 1
    app.config["SAGA_RETRY_ATTEMPTS"] = 2
    before = world(app)
    saga_id = cancel(app, client, booked[1], {"RefundPayment": {"kind": "hang"}})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ["RefundPayment", "BeginCancellation"]
    assert world(app) == before


def test_two_cancellations_of_one_booking_refund_it_once(app, client, venue, booked):
    before = world(app)
    first = start(client, f"/api/bookings/{booked[1]}/cancel").json["saga_id"]
    second = start(client, f"/api/bookings/{booked[1]}/cancel").json["saga_id"]
    run_jobs(app)
    assert saga_status(app, first) == "COMPLETED"
    state = saga_state(app, second)
    assert (state["status"], state["steps"]["BeginCancellation"][0]) == ("COMPENSATED", "FAILED")
    assert world(app) == cancelled(before, venue, booked[1], first)
