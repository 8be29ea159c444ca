"""Field types shared by the API schemas."""
from datetime import timezone

import marshmallow as ma
from marshmallow import ValidationError, validate
from werkzeug.routing import IntegerConverter

from app.extensions import db

MAX_ID = 2**31 - 1


class UtcDateTime(ma.fields.DateTime):
    """A timestamp in RFC 3339 with its UTC offset (the database stores naive UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class UtcNaiveDateTime(ma.fields.NaiveDateTime):
    """An input time in ISO 8601, loaded as naive UTC: without an offset it is UTC already.

    A time that leaves the calendar once converted (year 1 with a positive offset, 9999 with a
    negative one) is invalid input, not a server error.
    """

    default_error_messages = {"range": "Not a valid datetime: out of range once converted to UTC."}

    def __init__(self, **kwargs):
        super().__init__(timezone=timezone.utc, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except OverflowError as error:
            raise self.make_error("range") from error


class StrictBoolean(ma.fields.Boolean):
    """Only JSON true and false: no 0/1 or "yes"/"no" guessing."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ExistingId(ma.fields.Integer):
    """The id of an existing record in a body: an unknown one is invalid input (422), not a 404."""

    def __init__(self, model, noun, **kwargs):
        super().__init__(required=True, strict=True, validate=validate.Range(1, MAX_ID), **kwargs)
        self.model, self.noun = model, noun

    def _validate(self, value):
        super()._validate(value)
        if db.session.get(self.model, value) is None:
            raise ValidationError(f"{self.noun} {value} does not exist")


class RecordId(IntegerConverter):
    """A path id that fits the database's 32-bit keys; a larger one matches no route (404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def faults_field(definition, fault_schema):
    """A `faults` object with one optional property per step of the saga type (no others)."""
    class Meta:
        unknown = ma.RAISE

    fields = {step.name: ma.fields.Nested(fault_schema) for step in definition.steps}
    schema = type(f"{definition.name.title().replace('_', '')}Faults", (ma.Schema,), {"Meta": Meta, **fields})
    return ma.fields.Nested(schema, load_default=dict,
                            metadata={"description": "Failures to inject, by step name"})
