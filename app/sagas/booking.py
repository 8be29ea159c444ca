"""Booking a place in a slot: user, place, booking, payment, confirmation."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places
from app.sagas.order_placement import validate_user
from app.services import bookings


def slot_is_open(ctx, slot_id):
    """Only a slot that has not started can be booked."""
    bookings.open_slot(slot_id)


BOOKING = register(SagaDefinition(
    name="booking",
    description="Book a place in a slot: user, place, booking, payment, confirmation.",
    steps=(
        Step("ValidateUser", validate_user),
        Step("HoldSlot", places.hold("slot", slot_is_open), compensation=places.release("slot")),
        Step("CreateBooking", places.create("booking", "slot"), compensation=places.drop("booking")),
        Step("ProcessPayment", common.settle("booking", "primary"), compensation=common.reverse_payment,
             fallback=common.settle("booking", "backup")),
        Step("SendNotification", common.notify("booking", "confirmed"),
             compensation=common.correct("booking", "confirmed")),
    ),
    on_complete=places.confirm("booking", "slot"),
))
