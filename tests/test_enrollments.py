"""Enrollments end to end — enroll, cancel with a refund — through the API and RQ jobs (real
SimpleWorker), asserting the final state of every record, for success and for a failure at
every step."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import compensation_order, saga_state
from tests.place_helpers import (OUTLASTS_RETRIES, REFUSED, created, enroll, enrolled, run,  # noqa: F401
                                 saga_status, school, start, world)

ENROLL = ["ValidateUser", "ReserveSeat", "CreateEnrollment", "ProcessPayment", "SendNotification"]
CANCEL = ["BeginCancellation", "RefundPayment", "FreeSeat", "CancelEnrollment", "SendNotification"]


def test_enrollment_activates_takes_a_seat_and_charges_once(app, client, school):
    before = world(app)
    saga_id = enroll(app, client, school)
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in ENROLL}
    enrollment_id = created(app, "enrollment", saga_id)
    assert world(app) == {
        **before,
        "courses": {**before["courses"], school["python"]: (1, 0, 1)},
        "enrollments": {enrollment_id: ("ACTIVE", school["python"], 30_000)},
        "holds": [(saga_id, "course", school["python"], "COMMITTED")],
        "payments": [(saga_id, "primary", 30_000, "CAPTURED")],
        "paid": {f"enrollment:{enrollment_id}": 30_000},
        "notifications": [(saga_id, "enrollment_confirmed")],
    }


ENROLL_UNDO = {
    "ValidateUser": [],
    "ReserveSeat": [],
    "CreateEnrollment": ["ReserveSeat"],
    "ProcessPayment": ["CreateEnrollment", "ReserveSeat"],
    "SendNotification": ["ProcessPayment", "CreateEnrollment", "ReserveSeat"],
}


@pytest.mark.parametrize("failing", ENROLL)
def test_enrollment_failure_at_any_step_undoes_the_earlier_ones(app, client, school, failing):
    before = world(app)
    saga_id = enroll(app, client, school, faults={failing: REFUSED})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == ENROLL_UNDO[failing]
    at, enrollment_id = ENROLL.index(failing), created(app, "enrollment", saga_id)
    assert world(app) == {
        **before,
        "enrollments": {enrollment_id: ("CANCELLED", school["python"], 30_000)} if at > 2 else {},
        "holds": [(saga_id, "course", school["python"], "RELEASED")] if at > 1 else [],
        "payments": [(saga_id, "primary", 30_000, "REFUNDED")] if at > 3 else [],
    }


def test_a_declined_card_leaves_no_seat_taken_and_no_money_moved(app, client, school):
    before = world(app)
    saga_id = enroll(app, client, school, course="gold")
    assert world(app) == {
        **before,
        "enrollments": {created(app, "enrollment", saga_id): ("CANCELLED", school["gold"], 600_000)},
        "holds": [(saga_id, "course", school["gold"], "RELEASED")],
        "payments": [(saga_id, "primary", 600_000, "DECLINED"), (saga_id, "backup", 600_000, "DECLINED")],
    }


def test_two_racing_enrollments_of_one_student_leave_one_place_paid_once(app, client, school):
    body = {"user_id": school["ada"], "course_id": school["python"]}
    first = start(client, "/api/enrollments", body).json["saga_id"]
    second = start(client, "/api/enrollments", body).json["saga_id"]
    run_jobs(app)
    assert (saga_status(app, first), saga_status(app, second)) == ("COMPLETED", "COMPENSATED")
    assert saga_state(app, second)["steps"]["CreateEnrollment"][0] == "FAILED"
    after = world(app)
    enrollment_id = created(app, "enrollment", first)
    assert after["enrollments"] == {enrollment_id: ("ACTIVE", school["python"], 30_000)}
    assert after["courses"][school["python"]] == (1, 0, 1)
    assert after["paid"] == {f"enrollment:{enrollment_id}": 30_000}


def cancel(app, client, enrollment_id, faults=None):
    """Cancel an enrollment through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/enrollments/{enrollment_id}/cancel", {}, faults)


def cancelled(before, school, enrollment_id, saga_id):
    """The world after saga `saga_id` cancelled Ada's 300.00 enrollment in "python"."""
    return {
        **before,
        "courses": {**before["courses"], school["python"]: (2, 0, 0)},
        "enrollments": {enrollment_id: ("CANCELLED", school["python"], 30_000)},
        "holds": before["holds"] + [(saga_id, "course", school["python"], "FREED")],
        "payments": before["payments"] + [(saga_id, "primary", -30_000, "CAPTURED")],
        "paid": {f"enrollment:{enrollment_id}": 0},
        "notifications": before["notifications"] + [(saga_id, "enrollment_cancelled")],
    }


def test_cancellation_refunds_in_full_and_frees_the_seat(app, client, school, enrolled):
    before = world(app)
    saga_id = cancel(app, client, enrolled[1])
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in CANCEL}
    assert world(app) == cancelled(before, school, enrolled[1], saga_id)


@pytest.mark.parametrize("failing, undone", [("BeginCancellation", []),
                                             ("RefundPayment", ["BeginCancellation"])])
def test_cancellation_failing_up_to_the_refund_leaves_the_enrollment_as_it_was(app, client, enrolled,
                                                                                failing, undone):
    before = world(app)
    saga_id = cancel(app, client, enrolled[1], {failing: REFUSED})
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED"
    assert compensation_order(state) == undone
    assert world(app) == before


@pytest.mark.parametrize("failing", CANCEL[2:])
def test_cancellation_failures_after_the_refund_are_retried_until_done(app, client, school, enrolled, failing):
    before = world(app)
    saga_id = cancel(app, client, enrolled[1], {failing: OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    assert (state["status"], state["steps"][failing]) == ("COMPLETED", ("SUCCEEDED", 6, 0))
    assert world(app) == cancelled(before, school, enrolled[1], saga_id)
