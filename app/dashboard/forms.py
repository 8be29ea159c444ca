"""Dashboard forms: operator actions and the saga filter (the forms that start sagas are in
saga_form.py and start_forms.py)."""
from flask_wtf import FlaskForm
from wtforms import Form, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

try:
    from wtforms.fields.choices import SelectChoice as choice  # WTForms 3.3 deprecates tuples
except ImportError:  # older WTForms
    def choice(value, label):
        """An option of a select field."""
        return value, label

from app.saga.definition import saga_types
from app.saga.states import SagaStatus


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
