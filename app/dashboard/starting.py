"""Starting sagas from the dashboard: one URL per form, which shows it (a page, or for htmx the
form alone) and on a valid submit starts one saga per form token and opens the saga's page. A new
form may have its records chosen in advance by the query string (`/bookings/new?slot_id=3`).

A refusal by the current state (an order no longer confirmed, a slot that started) is shown on
the form with its reason; a repeat of a submitted form goes to its saga without being re-checked.
"""
from flask import abort, request, url_for

from app.dashboard import bp, records
from app.dashboard.render import page_or_fragment, redirect_to
from app.dashboard.start_forms import (BookingCancelForm, BookingForm, BookingMoveForm, EnrollmentCancelForm,
                                       EnrollmentForm, EnrollmentTransferForm, OrderCancelForm, OrderForm,
                                       OrderQuantityForm)
from app.errors import Conflict, NotFound
from app.saga.definition import get_definition
from app.saga.submission import find_by_idempotency_key, submit
from app.services import purchases

FRAGMENT = "dashboard/_saga_form.html"
FORMS = (  # URL, endpoint, form; a form that changes a record finds it by the URL's record_id
    ("/orders/new", "new_order", OrderForm),
    ("/orders/<id:record_id>/cancel", "cancel_order", OrderCancelForm),
    ("/orders/<id:record_id>/quantity", "change_quantity", OrderQuantityForm),
    ("/bookings/new", "new_booking", BookingForm),
    ("/bookings/<id:record_id>/cancel", "cancel_booking", BookingCancelForm),
    ("/bookings/<id:record_id>/move", "move_booking", BookingMoveForm),
    ("/enrollments/new", "new_enrollment", EnrollmentForm),
    ("/enrollments/<id:record_id>/cancel", "cancel_enrollment", EnrollmentCancelForm),
    ("/enrollments/<id:record_id>/transfer", "transfer_enrollment", EnrollmentTransferForm),
)


def form_page(form_class, record_id=None):
    """Show a saga's form; a valid submit starts one saga per form token and opens its page."""
    form = form_class(record=_record(form_class.RECORD, record_id))
    if not form.is_submitted():
        form.fresh_token()
        form.preselect(request.args)
        _refused(form)
        return _render(form, 200)
    status = 422
    if form.validate():
        replay = find_by_idempotency_key(f"form-{form.token.data}") is not None
        if not replay and _refused(form):
            status = 409
        elif (saga := _start(form)) is not None:
            return redirect_to(url_for("dashboard.saga", saga_id=saga.id))
    if form.token.errors:
        form.fresh_token()
    return _render(form, status)


def _record(kind, record_id):
    """The order, booking or enrollment the form changes (a 404 if there is none), or None."""
    if kind is None:
        return None
    try:
        return purchases.get_record(kind, record_id)
    except NotFound as exc:
        abort(404, description=f"{exc.args[0].capitalize()}.")


def _refused(form):
    """Whether the current state forbids the saga; if so the reason is on the form."""
    try:
        if form.RECORD:
            purchases.require_active(form.RECORD, form.record.id)
        if form.is_submitted():
            form.check()
    except (Conflict, NotFound) as exc:
        form.form_errors.append(f"Refused: {exc}.")
        return True
    return False


def _start(form):
    """Start the saga under the form's token; None, with the reason on the form, if the token was
    already used for other values."""
    try:
        saga, _created = submit(form.SAGA_TYPE, form.payload(), f"form-{form.token.data}")
    except Conflict:
        form.form_errors.append("This form was already submitted with other values. "
                                "It now has a new token: submit again to start another saga.")
        form.fresh_token()
        return None
    return saga


def _render(form, status):
    """The form's page, or for htmx the form alone."""
    return page_or_fragment(f"dashboard/forms/{form.SAGA_TYPE}.html", FRAGMENT, status, form=form,
                            record=form.record, facts=records.describe(form.RECORD, form.record),
                            definition=get_definition(form.SAGA_TYPE))


def form_view(form_class):
    """The view of one form's URL; it says what its form does."""
    def view(record_id=None):
        return form_page(form_class, record_id)
    view.__doc__ = form_class.__doc__
    return view


for _rule, _endpoint, _form_class in FORMS:
    bp.add_url_rule(_rule, _endpoint, form_view(_form_class), methods=["GET", "POST"])
