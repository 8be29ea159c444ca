"""What the current state forbids is refused on the form with its reason (409), before any saga
starts; a repeat of a submitted form still goes to its saga; unknown records are 404s."""
import re

import pytest

from app.extensions import db
from app.models import Booking, Order
from tests.conftest import run_jobs
from tests.place_helpers import booked, created, enrolled, saga_status, school, venue  # noqa: F401
from tests.test_dashboard_order_form import saga_count
from tests.test_dashboard_pages import HX, hidden_value
from tests.test_dashboard_saga_forms import (BY_TYPE, form_data, ordered, with_booking,  # noqa: F401
                                             with_enrollment)

REFUSALS = [  # saga type, fields changed from the valid case, the reason shown
    ("order_update", {"quantity": "2"}, "order {order} already has 2 unit(s)"),
    ("booking", {"slot_id": "{past}"}, "slot {past} started at 2000-01-01 00:00"),
    ("booking_modification", {"slot_id": "{early}"}, "booking {booking} is already in slot {early}"),
    ("enrollment", {"course_id": "{python}"}, "user {ada} is already enrolled in course {python}"),
    ("enrollment_transfer", {"course_id": "{python}"}, "user {ada} is already enrolled in course {python}"),
]


@pytest.fixture
def booked_and_enrolled(with_booking, with_enrollment):
    """Ada's confirmed booking of "early" and her active enrollment in "python"."""
    return {**with_booking, **with_enrollment}


def refuse(app, client, saga_type, ids, changes):
    """Submit a form whose request the current state forbids; returns the response."""
    case = BY_TYPE[saga_type]
    url = case.url.format(**ids)
    return client.post(url, data=form_data(client, url, case, ids,
                                           **{k: v.format(**ids) for k, v in changes.items()}))


@pytest.mark.parametrize("saga_type, changes, reason", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_request_the_state_forbids_is_refused_on_the_form(app, client, ordered, booked_and_enrolled,
                                                            saga_type, changes, reason):
    ids = {**ordered, **booked_and_enrolled}
    before = saga_count(app)
    response = refuse(app, client, saga_type, ids, changes)
    assert response.status_code == 409 and "<html" in response.text
    alert = response.text.split('class="errors form-errors" role="alert">')[1].split("</ul>")[0]
    assert f"Refused: {reason.format(**ids)}" in alert
    assert saga_count(app) == before


@pytest.mark.parametrize("saga_type, kind, model", [("order_cancellation", "order", Order),
                                                    ("booking_modification", "booking", Booking)])
def test_a_record_no_longer_active_is_refused_when_the_form_is_shown_and_submitted(
        app, client, ordered, with_booking, saga_type, kind, model):
    ids = {**ordered, **with_booking}
    url = BY_TYPE[saga_type].url.format(**ids)
    data = form_data(client, url, BY_TYPE[saga_type], ids)
    with app.app_context():
        db.session.get(model, ids[kind]).status = "CANCELLED"
        db.session.commit()
    reason = f"Refused: {kind} {ids[kind]} is CANCELLED, not CONFIRMED."
    assert reason in client.get(url).text
    response = client.post(url, data=data)
    assert response.status_code == 409 and reason in response.text


def test_a_repeat_after_the_saga_changed_the_record_still_opens_the_same_saga(app, client, with_booking):
    case = BY_TYPE["booking_cancellation"]
    url = case.url.format(**with_booking)
    data = form_data(client, url, case, with_booking)
    first = client.post(url, data=data)
    run_jobs(app)
    assert saga_status(app, int(first.headers["Location"].rsplit("/", 1)[1])) == "COMPLETED"
    second = client.post(url, data=data)
    assert second.status_code == 303 and second.headers["Location"] == first.headers["Location"]


def test_a_token_reused_for_other_values_asks_to_submit_again_with_a_new_token(app, client, venue):
    case = BY_TYPE["booking"]
    data = form_data(client, case.url, case, venue)
    client.post(case.url, data=data)
    response = client.post(case.url, data={**data, "slot_id": str(venue["single"])})
    assert response.status_code == 422 and "already submitted with other values" in response.text
    assert hidden_value(response.text, "token") != data["token"] and saga_count(app) == 1


def test_htmx_gets_an_hx_redirect_or_just_the_form_back(client, school):
    case = BY_TYPE["enrollment"]
    started = client.post(case.url, data=form_data(client, case.url, case, school), headers=HX)
    assert started.status_code == 200 and started.headers["HX-Redirect"].startswith("/sagas/")
    invalid = client.post(case.url, data=form_data(client, case.url, case, school, course_id="x"), headers=HX)
    assert invalid.status_code == 422 and "<html" not in invalid.text
    assert invalid.text.strip().startswith('<form id="enrollment-form"')


@pytest.mark.parametrize("url", ["/orders/4242/cancel", "/orders/4242/quantity", "/bookings/4242/cancel",
                                 "/bookings/4242/move", "/enrollments/4242/cancel", "/enrollments/4242/transfer",
                                 "/bookings/99999999999999999999/move"])
def test_a_form_for_an_unknown_record_is_a_404(client, url):
    response = client.get(url)
    assert response.status_code == 404 and "text/html" in response.content_type


def test_a_change_form_shows_the_record_and_the_saga_it_runs(client, with_enrollment):
    html = client.get(f"/enrollments/{with_enrollment['enrollment']}/transfer").text
    assert "<dt>Course</dt><dd>PYTHON Python</dd>" in html and "<dt>Paid</dt><dd>300.00</dd>" in html
    assert "SettleDifference <strong>(pivot)</strong>" in html
    assert '<option value="compensation">' in html.split('name="ReserveSeat-kind"')[1].split("</select>")[0]
    assert '<option value="fallback">' in html.split('name="SettleDifference-kind"')[1].split("</select>")[0]


def test_the_new_booking_form_offers_open_slots_and_takes_one_from_the_query(client, venue):
    html = client.get(f"/bookings/new?slot_id={venue['late']}").text
    options = html.split('name="slot_id"')[1].split("</select>")[0]
    assert f'<option selected value="{venue["late"]}">Room, Thu 01 Jan 12:00 — 65.00, 2 of 2 free</option>' \
        in options
    assert f'value="{venue["past"]}"' not in options


def test_the_quantity_form_starts_from_the_order_s_quantity_and_a_bad_preselection_is_ignored(client, ordered):
    html = client.get(f"/orders/{ordered['order']}/quantity").text
    assert re.search(r'<input[^>]*id="quantity"[^>]*value="2"', html)
    assert client.get("/bookings/new?slot_id=abc&user_id=99999999999999999999").status_code == 200


def test_a_transient_failure_without_its_count_asks_only_for_the_count(client, with_booking):
    case = BY_TYPE["booking_cancellation"]
    url = case.url.format(**with_booking)
    data = form_data(client, url, case, with_booking, **{"ReleaseSlot-kind": "transient", "ReleaseSlot-times": ""})
    errors = client.post(url, data=data).text.split('id="ReleaseSlot-times-errors"')[1].split("</ul>")[0]
    assert "How many times (1 to 10)?" in errors and "Not a valid integer" not in errors
