"""SQLAlchemy models: the domain's records and the saga engine's state."""
from app.models.domain import Notification, Order, Payment, Product, Reservation, User
from app.models.saga import Saga, SagaEvent, SagaStep

__all__ = [
    "Notification", "Order", "Payment", "Product", "Reservation", "User",
    "Saga", "SagaEvent", "SagaStep",
]
