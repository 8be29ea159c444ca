"""Enrolling a student in a course: user, seat, enrollment, payment, confirmation."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places
from app.sagas.order_placement import validate_user
from app.services import courses


def not_enrolled_yet(ctx, course_id):
    """A student takes a course at most once."""
    courses.require_not_enrolled(ctx.payload["user_id"], course_id)


ENROLLMENT = register(SagaDefinition(
    name="enrollment",
    description="Enroll in a course: user, seat, enrollment, payment, confirmation.",
    steps=(
        Step("ValidateUser", validate_user),
        Step("ReserveSeat", places.hold("course", not_enrolled_yet), compensation=places.release("course")),
        Step("CreateEnrollment", places.create("enrollment", "course"),
             compensation=places.drop("enrollment")),
        Step("ProcessPayment", common.settle("enrollment", "primary"), compensation=common.reverse_payment,
             fallback=common.settle("enrollment", "backup")),
        Step("SendNotification", common.notify("enrollment", "confirmed"),
             compensation=common.correct("enrollment", "confirmed")),
    ),
    on_complete=places.confirm("enrollment", "course"),
))
