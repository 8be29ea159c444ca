"""SQLAlchemy models: the domain's records and the saga engine's state."""
from app.models.bookings import Booking, Resource, Slot
from app.models.courses import Course, Enrollment
from app.models.domain import Notification, Order, Payment, Product, Reservation, User
from app.models.places import Hold
from app.models.saga import Saga, SagaEvent, SagaStep

__all__ = [
    "Notification", "Order", "Payment", "Product", "Reservation", "User",
    "Booking", "Resource", "Slot", "Course", "Enrollment", "Hold",
    "Saga", "SagaEvent", "SagaStep",
]
