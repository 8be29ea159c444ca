"""Dashboard forms: the order form with failures to inject, operator actions, the saga filter.

Limits are the JSON API's (quantity, transient repeats), so both entrances accept the same orders.
"""
import secrets

from flask_wtf import FlaskForm
from wtforms import Form, FormField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional, Regexp,
                                StopValidation, ValidationError)

try:
    from wtforms.fields.choices import SelectChoice as choice  # WTForms 3.3 deprecates tuples
except ImportError:  # older WTForms
    def choice(value, label):
        """An option of a select field."""
        return value, label

from app.api.schemas import MAX_QUANTITY
from app.extensions import db
from app.models import Product, User
from app.saga.definition import saga_types
from app.saga.faults import MAX_TRANSIENT_TIMES
from app.saga.states import SagaStatus
from app.sagas.order_placement import ORDER_PLACEMENT

TOKEN = r"^[A-Za-z0-9_-]{16,64}$"


class OrderForm(FlaskForm):
    """A customer, a product, a quantity; one FaultForm per step is added below."""

    token = HiddenField(validators=[InputRequired("This form has no token; it was reloaded, submit again."),
                                    Regexp(TOKEN, message="This form's token is malformed; submit again.")])
    user_id = SelectField("Customer", coerce=int, validate_choice=False)
    product_id = SelectField("Product", coerce=int, validate_choice=False)
    quantity = IntegerField("Quantity", default=1, validators=[
        InputRequired("Enter a quantity."),
        NumberRange(1, MAX_QUANTITY, f"Between 1 and {MAX_QUANTITY}.")])

    def validate_user_id(self, field):
        """The customer must exist (an inactive one is allowed: ValidateUser will reject it)."""
        if field.data is None or db.session.get(User, field.data) is None:
            raise ValidationError("Choose an existing customer.")

    def validate_product_id(self, field):
        """The product must exist."""
        if field.data is None or db.session.get(Product, field.data) is None:
            raise ValidationError("Choose an existing product.")

    def fresh_token(self):
        """Give the form a new token: the next submit is a new order."""
        self.token.data = secrets.token_urlsafe(24)

    def payload(self):
        """The order as the saga's payload, with the failures to inject."""
        faults = {}
        for step in ORDER_PLACEMENT.steps:
            fault = self[step.name]
            if fault.kind.data != "none":
                faults[step.name] = {"kind": fault.kind.data,
                                     "times": fault.times.data if fault.kind.data == "transient" else 1}
        return {"user_id": self.user_id.data, "product_id": self.product_id.data,
                "quantity": self.quantity.data, "faults": faults}


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
        times = IntegerField("N", default=1, validators=[
            needed_for_transient, Optional(),
            NumberRange(1, MAX_TRANSIENT_TIMES, f"Between 1 and {MAX_TRANSIENT_TIMES}.")])

    return FaultForm


def needed_for_transient(form, field):
    """A transient failure needs its number of times; other kinds ignore an empty one."""
    if form.kind.data == "transient" and not (field.raw_data and field.raw_data[0].strip()):
        raise StopValidation(f"How many times (1 to {MAX_TRANSIENT_TIMES})?")


for _step in ORDER_PLACEMENT.steps:
    setattr(OrderForm, _step.name, FormField(fault_form(_step), label=_step.name))


def strip(value):
    """Trim surrounding blanks from a text input."""
    return value.strip() if isinstance(value, str) else value


class ActionForm(FlaskForm):
    """An operator action: who acts (unless signed in) and why."""

    operator = StringField("Your name", filters=[strip], validators=[DataRequired("Say who you are."),
                                                                       Length(1, 64)])
    reason = TextAreaField("Why", filters=[strip], validators=[Length(0, 500)])


class ResolveForm(ActionForm):
    """Marking a step resolved needs a reason."""

    reason = TextAreaField("What was done by hand", filters=[strip], validators=[
        DataRequired("Say what was done to fix it."), Length(1, 500)])


class SagaFilter(Form):
    """Filter and page the saga list: a GET form, read from the query string (no CSRF token)."""

    status = SelectField("Status", choices=[choice("", "any status")] + [
        choice(s.value, s.value + (" (needs attention)" if s == SagaStatus.FAILED else "")) for s in SagaStatus],
        default="")
    type = SelectField("Type", default="")
    before = IntegerField("Older than #", validators=[Optional(), NumberRange(1, 2**63 - 1)])

    def __init__(self, *args, **kwargs):
        """Offer every registered saga type."""
        super().__init__(*args, **kwargs)
        self.type.choices = [choice("", "any type")] + [choice(name, name) for name in saga_types()]
