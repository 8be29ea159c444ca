"""The forms that start each saga type: their input fields and the up-front checks of the API.

A check raises app.errors.Conflict for what the current state forbids (the form shows why); the
record a change or cancellation names must be active, which is checked for every such form.
"""
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from app.api.schemas import MAX_QUANTITY
from app.dashboard import options
from app.dashboard.saga_form import RecordSelect, SagaForm
from app.models import Course, Product, Slot, User
from app.services import bookings, courses, purchases


def customer_field():
    """Who the saga is for (an inactive customer is allowed: ValidateUser rejects them)."""
    return RecordSelect("Customer", User, options.users, "Choose an existing customer.")


def slot_field(label):
    """A slot, offered from those that have not started."""
    return RecordSelect(label, Slot, options.open_slots, "Choose an existing slot.")


def course_field(label):
    """A course."""
    return RecordSelect(label, Course, options.courses, "Choose an existing course.")


def quantity_field(label):
    """A number of units, within the API's limits."""
    return IntegerField(label, default=1, render_kw={"min": 1, "inputmode": "numeric"}, validators=[
        InputRequired("Enter a quantity."), NumberRange(1, MAX_QUANTITY, f"Between 1 and {MAX_QUANTITY}.")])


def cancel_form(kind):
    """The form cancelling an active order, booking or enrollment (full refund): only failures to inject."""
    class CancelForm(SagaForm):
        SAGA_TYPE, RECORD, SUBMIT = f"{kind}_cancellation", kind, f"Cancel the {kind}"

    CancelForm.__name__ = CancelForm.__qualname__ = f"{kind.capitalize()}CancelForm"
    CancelForm.__doc__ = f"Cancel an active {kind}, with a full refund."
    return CancelForm


OrderCancelForm, BookingCancelForm, EnrollmentCancelForm = map(cancel_form, ("order", "booking", "enrollment"))


class OrderForm(SagaForm):
    """Place an order: a customer, a product, a quantity."""

    SAGA_TYPE, SUBMIT = "order_placement", "Place order"
    user_id = customer_field()
    product_id = RecordSelect("Product", Product, options.products, "Choose an existing product.")
    quantity = quantity_field("Quantity")


class OrderQuantityForm(SagaForm):
    """Change a confirmed order's quantity at its unit price."""

    SAGA_TYPE, RECORD, SUBMIT = "order_update", "order", "Change the quantity"
    quantity = quantity_field("New quantity")

    def __init__(self, *args, record, **kwargs):
        """Start from the order's current quantity."""
        super().__init__(*args, record=record, quantity=record.quantity, **kwargs)

    def check(self):
        """The quantity must change."""
        purchases.require_new_quantity(self.record, self.quantity.data)


class BookingForm(SagaForm):
    """Book a place in a slot for a customer."""

    SAGA_TYPE, SUBMIT = "booking", "Book"
    user_id = customer_field()
    slot_id = slot_field("Slot")

    def check(self):
        """The slot must not have started."""
        bookings.open_slot(self.slot_id.data)


class BookingMoveForm(SagaForm):
    """Move a confirmed booking to another slot, settling the price difference."""

    SAGA_TYPE, RECORD, SUBMIT = "booking_modification", "booking", "Move the booking"
    slot_id = slot_field("New slot")

    def check(self):
        """The slot must be another one, and not have started."""
        bookings.require_move(self.record, self.slot_id.data)


class EnrollmentForm(SagaForm):
    """Enroll a customer in a course."""

    SAGA_TYPE, SUBMIT = "enrollment", "Enroll"
    user_id = customer_field()
    course_id = course_field("Course")

    def check(self):
        """A student takes a course at most once."""
        courses.require_not_enrolled(self.user_id.data, self.course_id.data)


class EnrollmentTransferForm(SagaForm):
    """Transfer an active enrollment to another course, settling the price difference."""

    SAGA_TYPE, RECORD, SUBMIT = "enrollment_transfer", "enrollment", "Transfer the enrollment"
    course_id = course_field("New course")

    def check(self):
        """A student takes a course at most once (their current one included)."""
        courses.require_not_enrolled(self.record.user_id, self.course_id.data)
