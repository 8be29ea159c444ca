"""The pages of resources and slots, bookings, courses and enrollments, and the orders' actions: each
a full page or, for htmx, its list, refreshing itself only while a saga is changing something."""
import re

import pytest

from tests.conftest import run_jobs
from tests.place_helpers import booked, enrolled, run, school, start, venue  # noqa: F401
from tests.test_dashboard_pages import HX
from tests.test_dashboard_saga_forms import ordered, with_booking, with_enrollment  # noqa: F401

PAGES = ["/resources", "/bookings", "/courses", "/enrollments", "/orders"]


def row(html, element_id):
    """The table row with this id."""
    return re.search(rf'<tr id="{element_id}">.*?</tr>', html, re.S).group(0)


@pytest.mark.parametrize("url", PAGES)
def test_each_page_is_a_full_page_and_for_htmx_only_its_list(client, url):
    page, fragment = client.get(url), client.get(url, headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.text and f'aria-current="page">' in page.text
    section = f'<section id="{url[1:]}"'
    assert section in page.text and fragment.text.strip().startswith(section) and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


def test_every_record_page_is_in_the_navigation(client):
    nav = client.get("/").text.split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for url in PAGES + ["/", "/attention", "/orders/new", "/products", "/users", "/payments", "/notifications"]:
        assert f'href="{url}"' in nav


def test_resources_show_their_slots_to_come_with_places_and_price(app, client, with_booking):
    html = client.get("/resources").text
    early = row(html, f"slot-{with_booking['early']}")
    assert re.search(r'Places" class="num">2</td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>1</td><td[^>]*>40\.00</td>',
                     early)
    assert f'href="/bookings/new?slot_id={with_booking["early"]}"' in early
    assert f'id="slot-{with_booking["past"]}"' not in html and "1 slot(s) already started" in html


def test_courses_show_their_seats_and_price(client, with_enrollment):
    python = row(client.get("/courses").text, f"course-{with_enrollment['python']}")
    assert re.search(r'Places" class="num">2</td><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>1</td><td[^>]*>300\.00</td>',
                     python)
    assert f'href="/enrollments/new?course_id={with_enrollment["python"]}"' in python


def test_a_confirmed_booking_links_its_saga_and_offers_cancel_and_move(client, booked):  # noqa: F811
    saga_id, booking_id = booked
    html = row(client.get("/bookings").text, f"booking-{booking_id}")
    assert 'data-status="CONFIRMED"' in html and "Room, " in html and "40.00" in html
    assert f'href="/sagas/{saga_id}"' in html
    assert f'href="/bookings/{booking_id}/cancel"' in html and f'href="/bookings/{booking_id}/move"' in html


def test_a_cancelled_enrollment_links_both_sagas_and_offers_nothing(app, client, enrolled):  # noqa: F811
    saga_id, enrollment_id = enrolled
    cancel_id = run(app, client, f"/api/enrollments/{enrollment_id}/cancel", {})
    html = row(client.get("/enrollments").text, f"enrollment-{enrollment_id}")
    assert 'data-status="CANCELLED"' in html and "PYTHON" in html
    assert f'href="/sagas/{saga_id}"' in html and f'href="/sagas/{cancel_id}"' in html
    assert "/cancel" not in html and "/transfer" not in html


def test_a_confirmed_order_offers_cancel_and_change_quantity(client, ordered):
    html = row(client.get("/orders").text, f"order-{ordered['order']}")
    assert f'href="/orders/{ordered["order"]}/cancel"' in html
    assert f'href="/orders/{ordered["order"]}/quantity"' in html


def test_a_list_polls_only_while_a_saga_is_changing_one_of_its_records(app, client, with_booking):
    for url in ("/bookings", "/resources"):
        assert "hx-trigger" not in client.get(url, headers=HX).text
    app.config["SAGA_RETRY_DELAY"] = 600  # the sagas below wait for a retry, mid-way
    start(client, f"/api/bookings/{with_booking['booking']}/cancel", {}, {"ReleaseSlot": {"kind": "transient"}})
    start(client, "/api/bookings", {"user_id": with_booking["ada"], "slot_id": with_booking["late"]},
          {"CreateBooking": {"kind": "transient"}})
    run_jobs(app)
    bookings = client.get("/bookings", headers=HX).text
    assert 'data-status="CANCELLING"' in bookings
    assert 'hx-get="/bookings" hx-trigger="every 2s" hx-swap="outerHTML"' in bookings
    resources = client.get("/resources", headers=HX).text
    assert re.search(r'Held" class="num">1</td>', row(resources, f"slot-{with_booking['late']}"))
    assert 'hx-get="/resources" hx-trigger="every 2s"' in resources


def test_a_compensated_change_points_back_to_its_records_to_try_again(app, client, with_booking):
    saga_id = run(app, client, f"/api/bookings/{with_booking['booking']}/cancel", {},
                  {"BeginCancellation": {"kind": "permanent"}})
    actions = client.get(f"/sagas/{saga_id}").text.split('id="saga-actions"')[1].split("</section>")[0]
    assert "Compensated:" in actions and '<a href="/bookings">start it again from the bookings page</a>' in actions
