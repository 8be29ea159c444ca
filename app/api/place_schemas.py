"""Schemas of the requests that start, change or cancel orders, bookings and enrollments, and of
the resources, slots and courses they use."""
import datetime as dt

import marshmallow as ma
from marshmallow import ValidationError, validate, validates_schema

from app.api.schemas import MAX_QUANTITY, FaultIn, Strict
from app.extensions import db
from app.models import Course, Slot, User
from app.saga.definition import get_definition

Int = ma.fields.Integer
MAX_ID = 2**31 - 1


class RecordId(Int):
    """The id of an existing record: an unknown one is invalid input (422), not a 404."""

    def __init__(self, model, noun, **kwargs):
        super().__init__(required=True, strict=True, validate=validate.Range(1, MAX_ID), **kwargs)
        self.model, self.noun = model, noun

    def _validate(self, value):
        super()._validate(value)
        if db.session.get(self.model, value) is None:
            raise ValidationError(f"{self.noun} {value} does not exist")


class SagaRequest(Strict):
    """The body of a request that starts a saga: failures may be injected into its steps."""

    SAGA_TYPE = ""
    faults = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(FaultIn), load_default=dict,
                            metadata={"description": "Failures to inject, by step name"})

    @validates_schema
    def _known_steps(self, data, **_):
        names = {step.name for step in get_definition(self.SAGA_TYPE).steps}
        unknown = sorted(set(data.get("faults") or {}) - names)
        if unknown:
            raise ValidationError(f"unknown step(s) {unknown}; steps are {sorted(names)}", "faults")


class OrderCancelIn(SagaRequest):
    SAGA_TYPE = "order_cancellation"


class OrderQuantityIn(SagaRequest):
    SAGA_TYPE = "order_update"
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
    starts_at = ma.fields.NaiveDateTime(required=True, timezone=dt.timezone.utc,
                                        metadata={"description": "ISO 8601; naive means UTC"})
    places = Int(required=True, strict=True, validate=validate.Range(1, 10_000))
    price_cents = Int(required=True, strict=True, validate=validate.Range(0, 100_000_000))


class SlotOut(PoolOut):
    resource_id = Int()
    starts_at = ma.fields.DateTime()


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
    created_at = ma.fields.DateTime()


class BookingOut(PlaceOut):
    slot_id = Int()


class EnrollmentOut(PlaceOut):
    course_id = Int()


class BookingIn(SagaRequest):
    SAGA_TYPE = "booking"
    user_id = RecordId(User, "user")
    slot_id = RecordId(Slot, "slot")


class BookingCancelIn(SagaRequest):
    SAGA_TYPE = "booking_cancellation"


class BookingMoveIn(SagaRequest):
    SAGA_TYPE = "booking_modification"
    slot_id = RecordId(Slot, "slot")


class EnrollmentIn(SagaRequest):
    SAGA_TYPE = "enrollment"
    user_id = RecordId(User, "user")
    course_id = RecordId(Course, "course")


class EnrollmentCancelIn(SagaRequest):
    SAGA_TYPE = "enrollment_cancellation"


class EnrollmentTransferIn(SagaRequest):
    SAGA_TYPE = "enrollment_transfer"
    course_id = RecordId(Course, "course")
