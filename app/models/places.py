"""Places sold by capacity (slots, course seats): the shared counters, the holds sagas put on
them, and the columns of a bought place (a booking or an enrollment)."""
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.domain import TimestampMixin


def capacity_checks(table):
    """The constraints that keep a pool's counters within its capacity."""
    return (
        CheckConstraint("available >= 0", name=f"ck_{table}_available_nonnegative"),
        CheckConstraint("held >= 0", name=f"ck_{table}_held_nonnegative"),
        CheckConstraint("available + held <= capacity", name=f"ck_{table}_within_capacity"),
        CheckConstraint("price_cents >= 0", name=f"ck_{table}_price_nonnegative"),
    )


class CapacityMixin:
    """A pool of places: free ones, ones held by running sagas; the rest are taken."""

    capacity: Mapped[int]
    available: Mapped[int]
    held: Mapped[int] = mapped_column(default=0)
    price_cents: Mapped[int]

    @property
    def taken(self):
        """Places sold: neither free nor held."""
        return self.capacity - self.available - self.held


class PlaceMixin:
    """A place bought by a saga: its price, and the saga changing or cancelling it (the latest)."""

    saga_id: Mapped[int] = mapped_column(unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    price_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    change_saga_id: Mapped[int | None]

    @property
    def amount_cents(self):
        """What the customer pays for the place."""
        return self.price_cents


class Hold(TimestampMixin, db.Model):
    """One place of a pool moved by one saga: HELD then COMMITTED or RELEASED; or FREED (a taken
    place given back)."""

    __tablename__ = "holds"
    __table_args__ = (UniqueConstraint("saga_id", "pool", "pool_id", name="uq_holds_saga_pool"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(index=True)
    pool: Mapped[str] = mapped_column(String(16))
    pool_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="HELD")
