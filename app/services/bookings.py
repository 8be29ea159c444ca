"""Bookings: resources, their time slots (each a pool of places), and when a slot can be booked."""
from app import clock
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Resource, Slot
from app.services import capacity, insert


class SlotClosed(Conflict):
    """The slot has started: it can no longer be booked or moved into."""


def create_resource(name):
    """Create a bookable resource; a taken name is a Conflict."""
    return insert(Resource(name=name), f"a resource named {name!r} already exists")


def get_resource(resource_id):
    """The resource with this id, or NotFound."""
    resource = db.session.get(Resource, resource_id)
    if resource is None:
        raise NotFound(f"resource {resource_id} does not exist")
    return resource


def create_slot(resource_id, starts_at, places, price_cents):
    """Open a slot of a resource with its places, all available; a taken start is a Conflict."""
    get_resource(resource_id)
    slot = Slot(resource_id=resource_id, starts_at=starts_at, capacity=places,
                available=places, held=0, price_cents=price_cents)
    return insert(slot, f"resource {resource_id} already has a slot at {starts_at:%Y-%m-%d %H:%M}")


def open_slot(slot_id):
    """The slot, if it exists and has not started yet."""
    slot = capacity.get_pool("slot", slot_id)
    if slot.starts_at <= clock.now():
        raise SlotClosed(f"slot {slot_id} started at {slot.starts_at:%Y-%m-%d %H:%M}")
    return slot


def require_move(booking, slot_id):
    """A booking can move only to another slot, one that has not started."""
    if booking.slot_id == slot_id:
        raise Conflict(f"booking {booking.id} is already in slot {slot_id}")
    open_slot(slot_id)
