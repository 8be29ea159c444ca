"""Cancelling a booking with a refund; past the refund the cancellation only goes forward."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places

BOOKING_CANCELLATION = register(SagaDefinition(
    name="booking_cancellation",
    description="Cancel a confirmed booking: refund in full, free the place, cancel, notify.",
    steps=(
        Step("BeginCancellation", common.claim("booking", "CANCELLING"),
             compensation=common.end_claim("booking", "CONFIRMED")),
        Step("RefundPayment", common.settle("booking", "primary", target=0),
             compensation=common.reverse_payment, pivot=True),
        Step("ReleaseSlot", places.free_claimed("slot")),
        Step("CancelBooking", common.end_claim("booking", "CANCELLED")),
        Step("SendNotification", common.notify("booking", "cancelled")),
    ),
))
