"""Request and response schemas; they validate input and document the API (OpenAPI)."""
import marshmallow as ma

from app.api.fields import MAX_ID, ExistingId, StrictBoolean, UtcDateTime, faults_field
from marshmallow import validate

from app.models import Product, User
from app.saga.definition import saga_types
from app.saga.faults import KINDS, MAX_TRANSIENT_TIMES
from app.saga.states import SagaStatus
from app.sagas.order_placement import ORDER_PLACEMENT

MAX_QUANTITY = 1000
Int = ma.fields.Integer


class Strict(ma.Schema):
    """Unknown fields are errors, not silently dropped."""

    class Meta:
        unknown = ma.RAISE


class UserIn(Strict):
    name = ma.fields.String(required=True, validate=validate.Length(1, 120))
    email = ma.fields.Email(required=True, validate=validate.Length(3, 254))
    active = StrictBoolean(load_default=True)


class UserOut(ma.Schema):
    id = Int()
    name = ma.fields.String()
    email = ma.fields.String()
    active = ma.fields.Boolean()
    created_at = UtcDateTime()


class ProductIn(Strict):
    sku = ma.fields.String(required=True, validate=validate.Length(1, 64))
    name = ma.fields.String(required=True, validate=validate.Length(1, 120))
    price_cents = Int(required=True, strict=True, validate=validate.Range(0, 100_000_000))
    stock = Int(required=True, strict=True, validate=validate.Range(0, 1_000_000))


class ProductOut(ma.Schema):
    id = Int()
    sku = ma.fields.String()
    name = ma.fields.String()
    price_cents = Int()
    stock = Int(metadata={"description": "Units available for new reservations"})
    reserved = Int(metadata={"description": "Units held by running sagas"})


class FaultIn(Strict):
    kind = ma.fields.String(required=True, validate=validate.OneOf(KINDS))
    times = Int(load_default=1, strict=True, validate=validate.Range(1, MAX_TRANSIENT_TIMES))


class OrderIn(Strict):
    user_id = ExistingId(User, "user")
    product_id = ExistingId(Product, "product")
    quantity = Int(required=True, strict=True, validate=validate.Range(1, MAX_QUANTITY))
    faults = faults_field(ORDER_PLACEMENT, FaultIn)


class OrderOut(ma.Schema):
    id = Int()
    saga_id = Int()
    user_id = Int()
    product_id = Int()
    quantity = Int()
    amount_cents = Int()
    status = ma.fields.String()
    change_saga_id = Int(allow_none=True, metadata={"description": "The saga changing or cancelling it (latest)"})
    created_at = UtcDateTime()


class PaymentOut(ma.Schema):
    id = Int()
    saga_id = Int()
    order_id = Int(allow_none=True)
    subject = ma.fields.String(allow_none=True, metadata={"description": 'What it is for, e.g. "booking:3"'})
    amount_cents = Int(metadata={"description": "Negative: money paid back to the customer"})
    gateway = ma.fields.String()
    reference = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    error = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class PageArgs(Strict):
    limit = Int(load_default=20, validate=validate.Range(1, 100))
    before = Int(validate=validate.Range(1, MAX_ID),
                 metadata={"description": "Cursor: the next_cursor of the previous page"})


class SagaListArgs(PageArgs):
    status = ma.fields.String(validate=validate.OneOf([s.value for s in SagaStatus]))
    type = ma.fields.String(validate=lambda value: value in saga_types())
