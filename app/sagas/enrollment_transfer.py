"""Transferring an enrollment to another course, settling the price difference; whatever fails,
the student ends in exactly one course and has paid exactly its price."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places
from app.services import courses


def not_in_new_course_yet(ctx, course_id):
    """A student takes a course at most once."""
    courses.require_not_enrolled(common.claimed(ctx, "user_id"), course_id)


ENROLLMENT_TRANSFER = register(SagaDefinition(
    name="enrollment_transfer",
    description="Transfer an active enrollment: new seat, move, settle the difference, free the old seat.",
    steps=(
        Step("BeginChange", common.claim("enrollment", "CHANGING"),
             compensation=common.end_claim("enrollment", "ACTIVE")),
        Step("ReserveSeat", places.hold("course", not_in_new_course_yet),
             compensation=places.release("course")),
        Step("MoveEnrollment", places.move("enrollment", "course"),
             compensation=places.move_back("enrollment", "course")),
        Step("SettleDifference", common.settle("enrollment", "primary"), compensation=common.reverse_payment,
             fallback=common.settle("enrollment", "backup"), pivot=True),
        Step("FreeOldSeat", places.free_claimed("course")),
        Step("SendNotification", common.notify("enrollment", "transferred")),
    ),
    on_complete=places.confirm_change("enrollment", "course"),
))
