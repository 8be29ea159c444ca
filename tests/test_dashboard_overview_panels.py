"""The overview offers every saga type in its filter and shows the step-latency panel, its failing
rows marked; no page has inline script, style or event handlers (the CSP allows only our files)."""
import os
import re

from app import ROOT
from app.saga.definition import saga_types
from tests.conftest import run_jobs
from tests.helpers import place_order
from tests.place_helpers import booked, enrolled, school, venue  # noqa: F401
from tests.test_dashboard_pages import HX
from tests.test_dashboard_saga_forms import NINE, ordered, with_booking, with_enrollment  # noqa: F401

INLINE = re.compile(r"<script(?![^>]*\ssrc=)|\sstyle=|\son[a-z]+=|\shx-on", re.I)


def test_the_type_filter_lists_all_nine_saga_types(client):
    select = client.get("/").text.split('name="type"')[1].split("</select>")[0]
    offered = re.findall(r'<option[^>]*value="([a-z_]+)"', select)
    assert offered == saga_types() and set(NINE) <= set(offered)  # other tests may register test-only types


def test_the_full_overview_has_the_step_panel_and_the_polled_fragment_does_not(app, client, shop):
    place_order(client, shop["ada"], shop["keyboard"])
    run_jobs(app)
    page, fragment = client.get("/").text, client.get("/", headers=HX).text
    panel = page.split('<section id="step-stats"')[1].split("</section>")[0]
    assert 'hx-get="/ops/step-stats?window=15"' in panel and "Steps, last 15 min" in panel
    assert re.search(r"<td>order_placement</td>\s*<td>ProcessPayment</td>\s*<td>action</td>\s*<td>1</td>", panel)
    assert "step-stats" not in fragment


def test_failing_steps_are_marked_warning_under_20_percent_and_attention_from_there(app, client, shop):
    for _ in range(5):
        place_order(client, shop["ada"], shop["keyboard"])
    place_order(client, shop["ada"], shop["keyboard"], faults={
        "ProcessPayment": {"kind": "transient", "times": 1}, "CreateOrder": {"kind": "transient", "times": 2}})
    run_jobs(app)
    panel = client.get("/").text.split('<section id="step-stats"')[1]
    rows = {step: marked for marked, step in
            re.findall(r'<tr class="([a-z]*)">\s*<td>order_placement</td>\s*<td>(\w+)</td>', panel)}
    assert rows == {"ValidateUser": "", "ReserveInventory": "", "CreateOrder": "attention",
                    "ProcessPayment": "warning", "SendNotification": ""}
    css = open(os.path.join(ROOT, "static", "dashboard.css")).read()
    assert ".step-stats tr.warning td" in css and ".step-stats tr.attention td" in css


def test_no_page_has_inline_script_style_or_event_handlers(app, client, ordered, with_booking, with_enrollment):
    ids = {**ordered, **with_booking, **with_enrollment}
    urls = ["/", "/attention", "/orders", "/bookings", "/enrollments", "/resources", "/courses", "/products",
            "/users", "/payments", "/notifications", "/orders/new", "/bookings/new", "/enrollments/new",
            "/sagas/1", "/orders/{order}/cancel", "/orders/{order}/quantity", "/bookings/{booking}/cancel",
            "/bookings/{booking}/move", "/enrollments/{enrollment}/cancel", "/enrollments/{enrollment}/transfer"]
    for url in urls:
        response = client.get(url.format(**ids))
        assert response.status_code == 200, url
        assert not INLINE.search(response.text), (url, INLINE.search(response.text).group(0))
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
