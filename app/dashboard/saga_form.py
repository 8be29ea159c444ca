"""What every form that starts a saga shares: a form token as the idempotency key, a failure to
inject per step of its saga type, and selects of existing records.

A subclass names its saga type in SAGA_TYPE and gets one FaultForm per step of that type; its own
input fields become the saga's payload as they are, with `<RECORD>_id` for the record it changes.
Limits are the JSON API's, so both entrances accept the same requests.
"""
import secrets

from flask_wtf import FlaskForm
from wtforms import Form, FormField, HiddenField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp, StopValidation, ValidationError

from app.api.fields import MAX_ID
from app.dashboard.forms import choice
from app.extensions import db
from app.saga.definition import get_definition
from app.saga.faults import MAX_TRANSIENT_TIMES

TOKEN = r"^[A-Za-z0-9_-]{16,64}$"
NOT_INPUT = ("csrf_token", "token")


class SagaForm(FlaskForm):
    """A form that starts one saga of SAGA_TYPE per token, optionally changing a RECORD."""

    SAGA_TYPE = None
    RECORD = None  # "order", "booking" or "enrollment" when the saga changes one named in the URL
    SUBMIT = "Start"
    token = HiddenField(validators=[InputRequired("This form has no token; it was reloaded, submit again."),
                                    Regexp(TOKEN, message="This form's token is malformed; submit again.")])

    def __init_subclass__(cls, **kwargs):
        """Give a form of a saga type one FaultForm per step of that type, after its own fields."""
        super().__init_subclass__(**kwargs)
        if "SAGA_TYPE" in cls.__dict__:
            for step in get_definition(cls.SAGA_TYPE).steps:
                setattr(cls, step.name, FormField(fault_form(step), label=step.name))

    def __init__(self, *args, record=None, **kwargs):
        """Bind the form to the record it changes, and offer the records its selects choose from."""
        super().__init__(*args, **kwargs)
        self.record = record
        for field in self.input_fields():
            if isinstance(field, RecordSelect):
                field.choices = field.options()

    def input_fields(self):
        """The fields that become the saga's payload, in order."""
        return [field for field in self if field.name not in NOT_INPUT and field.type != "FormField"]

    def fault_fields(self):
        """One subform per step: which failure to inject there."""
        return [field for field in self if field.type == "FormField"]

    def preselect(self, args):
        """Choose in advance the records the query string names, e.g. ?slot_id=3."""
        for field in self.input_fields():
            if isinstance(field, RecordSelect) and field.name in args:
                field.process_data(args[field.name])

    def fresh_token(self):
        """Give the form a new token: the next submit starts a new saga."""
        self.token.data = secrets.token_urlsafe(24)

    def check(self):
        """Refuse (with a Conflict) what the current state forbids; the record's own state is checked anyway."""

    def faults(self):
        """The failures to inject, by step name, as the saga's payload carries them."""
        return {fault.name: {"kind": fault.kind.data,
                             "times": fault.times.data if fault.kind.data == "transient" else 1}
                for fault in self.fault_fields() if fault.kind.data != "none"}

    def payload(self):
        """What the saga starts with: the record it changes, the input fields, the failures to inject."""
        record = {f"{self.RECORD}_id": self.record.id} if self.RECORD else {}
        return {**record, **{field.name: field.data for field in self.input_fields()}, "faults": self.faults()}


def fault_form(step):
    """A subform for one step: which failure to inject, and how often for a transient one."""
    kinds = [choice("none", "none"), choice("transient", "transient ×N, then succeeds"),
             choice("permanent", "permanent (rejected)"), choice("hang", "hang past the timeout")]
    if step.fallback is not None:
        kinds.append(choice("fallback", "primary rejects, fallback succeeds"))
    if step.compensation is not None:
        kinds.append(choice("compensation", "compensation fails"))

    class FaultForm(Form):
        kind = SelectField("Failure", choices=kinds, default="none")
        times = IntegerField("N", default=1, render_kw={"min": 1, "inputmode": "numeric"}, validators=[
            needed_for_transient, Optional(),
            NumberRange(1, MAX_TRANSIENT_TIMES, f"Between 1 and {MAX_TRANSIENT_TIMES}.")])

    return FaultForm


def needed_for_transient(form, field):
    """A transient failure needs its number of times; other kinds ignore an empty one."""
    if form.kind.data == "transient" and not (field.raw_data and field.raw_data[0].strip()):
        field.errors[:] = []  # "not a valid integer" says less than the question below
        raise StopValidation(f"How many times (1 to {MAX_TRANSIENT_TIMES})?")


class RecordSelect(SelectField):
    """A choice of one record by id, offered from `options()`; an unknown id is refused next to the field.

    Any existing id is accepted, listed or not (a slot that started since the page was drawn is
    refused by the saga's own rules, with their reason).
    """

    def __init__(self, label, model, options, message, **kwargs):
        super().__init__(label, coerce=int, validate_choice=False, **kwargs)
        self.model, self.options, self.message = model, options, message

    def process_formdata(self, valuelist):
        """Read the id; anything but a whole number leaves it empty, to be refused as unknown."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None

    def pre_validate(self, form):
        """The id must name an existing record (and fit the database's keys)."""
        if self.data is None or not 0 < self.data <= MAX_ID or db.session.get(self.model, self.data) is None:
            raise ValidationError(self.message)
