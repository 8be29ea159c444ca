"""Saga types; importing this package registers every one of them."""
from app.sagas import (  # noqa: F401
    booking, booking_cancellation, booking_modification, enrollment, enrollment_cancellation,
    enrollment_transfer, order_cancellation, order_placement, order_update)
