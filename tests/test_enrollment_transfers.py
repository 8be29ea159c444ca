"""Transferring an enrollment to another course end to end, through the API and RQ jobs (real
SimpleWorker): whatever step fails, the student ends in exactly one course, having paid exactly
its price; and the exact final state of every record."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import compensation_order, saga_state
from tests.place_helpers import (OUTLASTS_RETRIES, REFUSED, enrolled, run, saga_status, school,  # noqa: F401
                                 start, world)

TRANSFER = ["BeginChange", "ReserveSeat", "MoveEnrollment", "SettleDifference", "FreeOldSeat",
            "SendNotification"]


def transfer(app, client, enrollment_id, course_id, faults=None):
    """Transfer an enrollment through the API and run the saga; returns the saga's id."""
    return run(app, client, f"/api/enrollments/{enrollment_id}/transfer", {"course_id": course_id}, faults)


def transferred(before, school, enrollment_id, saga_id):
    """The world after saga `saga_id` moved Ada from "python" (300.00) to "go" (450.00)."""
    return {
        **before,
        "courses": {**before["courses"], school["python"]: (2, 0, 0), school["go"]: (0, 0, 1)},
        "enrollments": {enrollment_id: ("ACTIVE", school["go"], 45_000)},
        "holds": before["holds"] + [(saga_id, "course", school["go"], "COMMITTED"),
                                    (saga_id, "course", school["python"], "FREED")],
        "payments": before["payments"] + [(saga_id, "primary", 15_000, "CAPTURED")],
        "paid": {f"enrollment:{enrollment_id}": 45_000},
        "notifications": before["notifications"] + [(saga_id, "enrollment_transferred")],
    }


def test_transfer_to_a_dearer_course_charges_the_difference(app, client, school, enrolled):
    before = world(app)
    saga_id = transfer(app, client, enrolled[1], school["go"])
    assert saga_state(app, saga_id)["steps"] == {name: ("SUCCEEDED", 1, 0) for name in TRANSFER}
    assert world(app) == transferred(before, school, enrolled[1], saga_id)


def test_transfer_to_a_cheaper_course_pays_the_difference_back(app, client, school, enrolled):
    saga_id = transfer(app, client, enrolled[1], school["rust"])
    after = world(app)
    assert after["enrollments"][enrolled[1]] == ("ACTIVE", school["rust"], 20_000)
    assert after["payments"][-1] == (saga_id, "primary", -10_000, "CAPTURED")
    assert after["paid"] == {f"enrollment:{enrolled[1]}": 20_000}


TRANSFER_UNDO = {
    "BeginChange": [],
    "ReserveSeat": ["BeginChange"],
    "MoveEnrollment": ["ReserveSeat", "BeginChange"],
    "SettleDifference": ["MoveEnrollment", "ReserveSeat", "BeginChange"],
}


@pytest.mark.parametrize("failing", TRANSFER)
def test_a_failure_anywhere_leaves_the_student_in_one_course_paid_once(app, client, school, enrolled,
                                                                       failing):
    before = world(app)
    compensated = failing in TRANSFER_UNDO
    saga_id = transfer(app, client, enrolled[1], school["go"],
                       {failing: REFUSED if compensated else OUTLASTS_RETRIES})
    state = saga_state(app, saga_id)
    after = world(app)
    status, course_id, price = after["enrollments"][enrolled[1]]
    taken = {course: counters[2] for course, counters in after["courses"].items() if any(counters[1:])}
    assert (status, taken) == ("ACTIVE", {course_id: 1})
    assert after["paid"] == {f"enrollment:{enrolled[1]}": price}
    if compensated:
        assert (state["status"], compensation_order(state)) == ("COMPENSATED", TRANSFER_UNDO[failing])
        released = [(saga_id, "course", school["go"], "RELEASED")] if TRANSFER.index(failing) > 1 else []
        assert after == {**before, "holds": before["holds"] + released}
    else:
        assert (state["status"], state["steps"][failing]) == ("COMPLETED", ("SUCCEEDED", 6, 0))
        assert after == transferred(before, school, enrolled[1], saga_id)


def test_a_transfer_racing_an_enrollment_into_the_same_course_is_compensated(app, client, school, enrolled):
    joining = start(client, "/api/enrollments", {"user_id": school["ada"], "course_id": school["rust"]})
    moving = start(client, f"/api/enrollments/{enrolled[1]}/transfer", {"course_id": school["rust"]})
    run_jobs(app)
    assert saga_status(app, joining.json["saga_id"]) == "COMPLETED"
    state = saga_state(app, moving.json["saga_id"])
    assert (state["status"], state["steps"]["MoveEnrollment"][0]) == ("COMPENSATED", "FAILED")
    after = world(app)
    assert sorted(after["enrollments"].values()) == [("ACTIVE", school["python"], 30_000),
                                                     ("ACTIVE", school["rust"], 20_000)]
    assert (after["courses"][school["python"]], after["courses"][school["rust"]]) == ((1, 0, 1), (1, 0, 1))
