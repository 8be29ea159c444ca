"""Bookable resources, their time slots (each a pool of places), and bookings of a slot."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.domain import TimestampMixin
from app.models.places import CapacityMixin, PlaceMixin, capacity_checks


class Resource(TimestampMixin, db.Model):
    """Something people book by the slot: a room, a court, a guide."""

    __tablename__ = "resources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Slot(CapacityMixin, TimestampMixin, db.Model):
    """A time slot of a resource with a number of places and a price per place."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("resource_id", "starts_at", name="uq_slots_resource_start"),
                      *capacity_checks("slots"))
    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id"))
    starts_at: Mapped[datetime]


class Booking(PlaceMixin, TimestampMixin, db.Model):
    """A place in a slot: PENDING while its saga runs, CONFIRMED, then maybe CANCELLED;
    CANCELLING or CHANGING while a later saga works on it."""

    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_status_id", "status", "id"),)
    ACTIVE = "CONFIRMED"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"))
