"""Schemas of the requests that start, change or cancel orders, bookings and enrollments, and of
the resources, slots and courses they use."""

import marshmallow as ma
from marshmallow import validate

from app import sagas  # noqa: F401  (registers the saga types the schemas name)
from app.api.fields import ExistingId, UtcDateTime, UtcNaiveDateTime, faults_field
from app.api.schemas import MAX_QUANTITY, FaultIn, Strict
from app.models import Course, Slot, User
from app.saga.definition import get_definition

Int = ma.fields.Integer


def saga_request(saga_type):
    """Base of a body that starts `saga_type`: failures may be injected into its steps, by name."""
    return type(f"{saga_type.title().replace('_', '')}Request", (Strict,),
                {"faults": faults_field(get_definition(saga_type), FaultIn)})


class OrderCancelIn(saga_request("order_cancellation")):
    """Cancel a confirmed order (refund, restock, cancel, notify)."""


class OrderQuantityIn(saga_request("order_update")):
    """Change a confirmed order's quantity."""
    quantity = Int(required=True, strict=True, validate=validate.Range(1, MAX_QUANTITY))


class ResourceIn(Strict):
    name = ma.fields.String(required=True, validate=validate.Length(1, 120))


class ResourceOut(ma.Schema):
    id = Int()
    name = ma.fields.String()


class PoolOut(ma.Schema):
    id = Int()
    capacity = Int(metadata={"description": "Places in all"})
    available = Int(metadata={"description": "Places free for new holds"})
    held = Int(metadata={"description": "Places held by running sagas"})
    taken = Int(metadata={"description": "Places sold"})
    price_cents = Int()


class SlotIn(Strict):
    starts_at = UtcNaiveDateTime(required=True, metadata={"description": "ISO 8601; naive means UTC"})
    places = Int(required=True, strict=True, validate=validate.Range(1, 10_000))
    price_cents = Int(required=True, strict=True, validate=validate.Range(0, 100_000_000))


class SlotOut(PoolOut):
    resource_id = Int()
    starts_at = UtcDateTime()


class CourseIn(Strict):
    code = ma.fields.String(required=True, validate=validate.Length(1, 32))
    title = ma.fields.String(required=True, validate=validate.Length(1, 120))
    seats = Int(required=True, strict=True, validate=validate.Range(1, 10_000))
    price_cents = Int(required=True, strict=True, validate=validate.Range(0, 100_000_000))


class CourseOut(PoolOut):
    code = ma.fields.String()
    title = ma.fields.String()


class PlaceOut(ma.Schema):
    id = Int()
    saga_id = Int()
    user_id = Int()
    price_cents = Int()
    status = ma.fields.String()
    change_saga_id = Int(allow_none=True, metadata={"description": "The saga changing or cancelling it (latest)"})
    created_at = UtcDateTime()


class BookingOut(PlaceOut):
    slot_id = Int()


class EnrollmentOut(PlaceOut):
    course_id = Int()


class BookingIn(saga_request("booking")):
    """Book a slot for a user."""
    user_id = ExistingId(User, "user")
    slot_id = ExistingId(Slot, "slot")


class BookingCancelIn(saga_request("booking_cancellation")):
    """Cancel a booking with a refund."""


class BookingMoveIn(saga_request("booking_modification")):
    """Move a booking to another slot."""
    slot_id = ExistingId(Slot, "slot")


class EnrollmentIn(saga_request("enrollment")):
    """Enroll a user in a course."""
    user_id = ExistingId(User, "user")
    course_id = ExistingId(Course, "course")


class EnrollmentCancelIn(saga_request("enrollment_cancellation")):
    """Cancel an enrollment with a refund."""


class EnrollmentTransferIn(saga_request("enrollment_transfer")):
    """Transfer an enrollment to another course."""
    course_id = ExistingId(Course, "course")
