"""Cancelling an enrollment with a refund; past the refund the cancellation only goes forward."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places

ENROLLMENT_CANCELLATION = register(SagaDefinition(
    name="enrollment_cancellation",
    description="Cancel an active enrollment: refund in full, free the seat, cancel, notify.",
    steps=(
        Step("BeginCancellation", common.claim("enrollment", "CANCELLING"),
             compensation=common.end_claim("enrollment", "ACTIVE")),
        Step("RefundPayment", common.settle("enrollment", "primary", target=0),
             compensation=common.reverse_payment, pivot=True),
        Step("FreeSeat", places.free_claimed("course")),
        Step("CancelEnrollment", common.end_claim("enrollment", "CANCELLED")),
        Step("SendNotification", common.notify("enrollment", "cancelled")),
    ),
))
