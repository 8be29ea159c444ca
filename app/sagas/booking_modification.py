"""Moving a booking to another slot, settling the price difference; past the settlement the
move only goes forward."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common, places
from app.sagas.booking import slot_is_open

BOOKING_MODIFICATION = register(SagaDefinition(
    name="booking_modification",
    description="Move a confirmed booking: new place, move, settle the difference, free the old place.",
    steps=(
        Step("BeginChange", common.claim("booking", "CHANGING"),
             compensation=common.end_claim("booking", "CONFIRMED")),
        Step("HoldSlot", places.hold("slot", slot_is_open), compensation=places.release("slot")),
        Step("MoveBooking", places.move("booking", "slot"), compensation=places.move_back("booking", "slot")),
        Step("SettleDifference", common.settle("booking", "primary"), compensation=common.reverse_payment,
             fallback=common.settle("booking", "backup"), pivot=True),
        Step("ReleaseOldSlot", places.free_claimed("slot")),
        Step("SendNotification", common.notify("booking", "changed")),
    ),
    on_complete=places.confirm_change("booking", "slot"),
))
