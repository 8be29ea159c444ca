"""The nine forms that start sagas, one implementation: each starts its saga with exactly the API's
payload and the failures to inject, shows invalid input next to the field, starts one saga per
form token, and needs its CSRF token."""
from collections import namedtuple

import pytest

from app.extensions import db
from app.models import Saga
from app.saga.definition import get_definition, saga_types
from tests.conftest import run_jobs
from tests.helpers import place_order
from tests.place_helpers import booked, created, enrolled, saga_status, school, venue  # noqa: F401
from tests.test_dashboard_order_form import saga_count
from tests.test_dashboard_pages import HX, hidden_value

NINE = ["booking", "booking_cancellation", "booking_modification", "enrollment", "enrollment_cancellation",
        "enrollment_transfer", "order_cancellation", "order_placement", "order_update"]
TWICE = {"kind": "transient", "times": 2}
UNDO_FAILS = {"kind": "compensation", "times": 1}
FALLBACK = {"kind": "fallback", "times": 1}

# world: the fixture with the records; fields and payload name ids of that world ("ada", "late", "booking")
Case = namedtuple("Case", "saga_type url world fields payload faults invalid")
CASES = [
    Case("order_placement", "/orders/new", "shop", {"user_id": "ada", "product_id": "keyboard", "quantity": "2"},
         {"user_id": "ada", "product_id": "keyboard", "quantity": 2}, {"ProcessPayment": TWICE},
         ({"quantity": "0"}, "quantity", "Between 1 and 1000.")),
    Case("order_cancellation", "/orders/{order}/cancel", "ordered", {}, {"order_id": "order"},
         {"RefundPayment": TWICE, "BeginCancellation": UNDO_FAILS},
         ({"RestockInventory-kind": "compensation"}, "RestockInventory-kind", "Not a valid choice.")),
    Case("order_update", "/orders/{order}/quantity", "ordered", {"quantity": "3"}, {"order_id": "order", "quantity": 3},
         {"ReserveInventory": TWICE, "SettleDifference": FALLBACK},
         ({"quantity": ""}, "quantity", "Enter a quantity.")),
    Case("booking", "/bookings/new", "venue", {"user_id": "ada", "slot_id": "late"},
         {"user_id": "ada", "slot_id": "late"}, {"HoldSlot": TWICE, "CreateBooking": UNDO_FAILS},
         ({"slot_id": "999"}, "slot_id", "Choose an existing slot.")),
    Case("booking_cancellation", "/bookings/{booking}/cancel", "with_booking", {}, {"booking_id": "booking"},
         {"ReleaseSlot": TWICE}, ({"ReleaseSlot-kind": "fallback"}, "ReleaseSlot-kind", "Not a valid choice.")),
    Case("booking_modification", "/bookings/{booking}/move", "with_booking", {"slot_id": "late"},
         {"booking_id": "booking", "slot_id": "late"}, {"MoveBooking": TWICE, "SettleDifference": FALLBACK},
         ({"slot_id": "99999999999999999999"}, "slot_id", "Choose an existing slot.")),
    Case("enrollment", "/enrollments/new", "school", {"user_id": "ada", "course_id": "rust"},
         {"user_id": "ada", "course_id": "rust"}, {"ProcessPayment": TWICE},
         ({"user_id": "nobody"}, "user_id", "Choose an existing customer.")),
    Case("enrollment_cancellation", "/enrollments/{enrollment}/cancel", "with_enrollment", {},
         {"enrollment_id": "enrollment"}, {"FreeSeat": TWICE},
         ({"FreeSeat-kind": "transient", "FreeSeat-times": ""}, "FreeSeat-times", "How many times")),
    Case("enrollment_transfer", "/enrollments/{enrollment}/transfer", "with_enrollment", {"course_id": "rust"},
         {"enrollment_id": "enrollment", "course_id": "rust"}, {"SendNotification": TWICE},
         ({"course_id": ""}, "course_id", "Choose an existing course.")),
]
BY_TYPE = {case.saga_type: case for case in CASES}
Form = namedtuple("Form", "case url ids sagas_before")


@pytest.fixture
def ordered(app, client, shop):
    """Ada's confirmed order of 2 keyboards: the shop's ids, and the order's as "order"."""
    saga_id = place_order(client, shop["ada"], shop["keyboard"], quantity=2).json["saga_id"]
    run_jobs(app)
    return {**shop, "order": created(app, "order", saga_id)}


@pytest.fixture
def with_booking(venue, booked):  # noqa: F811
    """The venue's ids, and Ada's confirmed booking of the "early" slot as "booking"."""
    return {**venue, "booking": booked[1]}


@pytest.fixture
def with_enrollment(school, enrolled):  # noqa: F811
    """The school's ids, and Ada's active enrollment in "python" as "enrollment"."""
    return {**school, "enrollment": enrolled[1]}


def form_data(client, url, case, ids, **changes):
    """A complete, valid submission of a case's form (CSRF and form token from a GET), with changes."""
    html = client.get(url).text
    steps = [step.name for step in get_definition(case.saga_type).steps]
    data = {"csrf_token": hidden_value(html, "csrf_token"), "token": hidden_value(html, "token"),
            **{f"{step}-kind": "none" for step in steps}, **{f"{step}-times": "1" for step in steps},
            **{name: str(ids.get(value, value)) for name, value in case.fields.items()}}
    for step, fault in case.faults.items():
        data.update({f"{step}-kind": fault["kind"], f"{step}-times": str(fault["times"])})
    return {**data, **changes}


def expected_payload(case, ids):
    """The payload the case's saga must start with."""
    return {**{name: ids.get(value, value) if isinstance(value, str) else value
               for name, value in case.payload.items()}, "faults": case.faults}


def test_there_is_a_form_for_every_saga_type(app, client, shop):
    assert sorted(BY_TYPE) == NINE and set(NINE) <= set(saga_types())
    for url in ("/orders/new", "/bookings/new", "/enrollments/new"):
        assert client.get(url).status_code == 200


@pytest.fixture(params=CASES, ids=lambda case: case.saga_type)
def form(request, app):
    """One saga type's form, in its world: its case, URL, the ids of the world and the sagas before."""
    ids = request.getfixturevalue(request.param.world)
    return Form(request.param, request.param.url.format(**ids), ids, saga_count(app))


def test_a_submit_starts_the_saga_with_its_payload_and_faults_and_opens_its_page(app, client, form):
    data = form_data(client, form.url, form.case, form.ids)
    response = client.post(form.url, data=data)
    assert response.status_code == 303 and response.headers["Location"].startswith("/sagas/")
    saga_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        assert (saga.type, saga.payload) == (form.case.saga_type, expected_payload(form.case, form.ids))
        assert saga.idempotency_key == f"form-{data['token']}"
    assert saga_count(app) == form.sagas_before + 1
    run_jobs(app)
    assert saga_status(app, saga_id) == "COMPLETED"


def test_invalid_input_re_renders_the_form_with_the_message_next_to_the_field(app, client, form):
    changes, field, message = form.case.invalid
    response = client.post(form.url, data=form_data(client, form.url, form.case, form.ids, **changes))
    assert response.status_code == 422 and "<html" in response.text
    errors = response.text.split(f'id="{field}-errors"')[1].split("</ul>")[0]
    assert message in errors and 'aria-invalid="true"' in response.text
    assert saga_count(app) == form.sagas_before


def test_a_double_submit_with_the_same_token_starts_one_saga(app, client, form):
    data = form_data(client, form.url, form.case, form.ids)
    first, second = client.post(form.url, data=data), client.post(form.url, data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert saga_count(app) == form.sagas_before + 1


def test_a_post_without_csrf_token_is_refused(app, client, form):
    data = form_data(client, form.url, form.case, form.ids)
    del data["csrf_token"]
    response = client.post(form.url, data=data)
    assert response.status_code == 400 and "CSRF" in response.text
    assert saga_count(app) == form.sagas_before
