"""In a real browser: place orders and book a slot through the forms, and watch retries and compensation
happen live."""
import re

from playwright.sync_api import expect

WAIT = 30_000  # ms: generous, for a loaded CI machine; nothing here measures time
STATUS_LOG = """() => {
  window.seenStatuses = [];
  window.swaps = 0;
  document.body.addEventListener("htmx:afterSwap", () => { window.swaps += 1; });
  setInterval(() => {
    const live = document.querySelector("#saga-live");
    const status = live && live.dataset.sagaStatus;
    if (status && window.seenStatuses[window.seenStatuses.length - 1] !== status) window.seenStatuses.push(status);
  }, 50);
}"""


def place_order(page, base_url, product, faults=()):
    """Fill in the order form for Ada and submit it; returns the saga page's path."""
    page.goto(f"{base_url}/orders/new")
    page.select_option("#user_id", label=_option(page, "#user_id", "Ada Lovelace"))
    page.select_option("#product_id", label=_option(page, "#product_id", product))
    page.fill("#quantity", "1")
    for step, kind, times in faults:
        page.select_option(f"#{step}-kind", kind)
        if times:
            page.fill(f"#{step}-times", str(times))
    page.click("button:has-text('Place order')")
    page.wait_for_url(re.compile(r"/sagas/\d+$"))
    return page.url.removeprefix(base_url)


def watch(page):
    """Count full page loads from now on, and log every status the live region shows."""
    loads = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    page.evaluate(STATUS_LOG)
    return loads


def test_a_transient_payment_failure_is_retried_live_until_completed(page, base_url, shoot):
    path = place_order(page, base_url, "Mechanical keyboard", [("ProcessPayment", "transient", 2)])
    loads = watch(page)
    payment = page.locator("[data-step='ProcessPayment']")
    expect(payment.locator("tr.outcome-will-retry").first).to_be_visible(timeout=WAIT)
    shoot("1-transient-retry-scheduled")
    expect(payment.locator("tr.outcome-will-retry")).to_have_count(2, timeout=WAIT)
    expect(page.locator("#saga-live")).to_have_attribute("data-saga-status", "COMPLETED", timeout=WAIT)
    expect(payment.locator("tr.outcome-succeeded")).to_have_count(1)
    expect(payment.locator(".badge")).to_have_text("succeeded")
    shoot("2-transient-completed")
    shoot("2-transient-completed-narrow", narrow=True)

    assert loads == [], "the page reloaded"
    seen = page.evaluate("window.seenStatuses")
    assert seen[0] in ("PENDING", "RUNNING") and seen[-1] == "COMPLETED", seen
    assert page.evaluate("window.swaps") > 0
    assert page.get_attribute("#saga-live", "hx-trigger") is None
    _assert_polling_stopped(page, path)


def test_a_declined_payment_is_compensated_in_reverse_order_live(page, base_url, shoot):
    place_order(page, base_url, "Graphics card")
    loads = watch(page)
    expect(page.locator("#saga-live")).to_have_attribute("data-saga-status", "COMPENSATED", timeout=WAIT)
    undo = page.locator("[data-compensation]")
    assert [undo.nth(i).get_attribute("data-compensation") for i in range(undo.count())] == [
        "ProcessPayment", "CreateOrder", "ReserveInventory", "ValidateUser"]
    for step in ("CreateOrder", "ReserveInventory"):
        expect(page.locator(f"[data-compensation='{step}'] .badge")).to_have_text("compensated")
    expect(page.locator("[data-step='ProcessPayment']")).to_contain_text("PaymentDeclined")
    expect(page.locator("#saga-actions")).to_contain_text("not retried forward")
    assert loads == [], "the page reloaded"
    assert page.evaluate("window.seenStatuses")[-1] == "COMPENSATED"
    shoot("3-decline-compensated")
    shoot("3-decline-compensated-narrow", narrow=True)

    page.goto(f"{base_url}/")
    expect(page.locator("#live tbody tr").first.locator(".badge")).to_have_text("compensated")
    shoot("4-overview")
    shoot("4-overview-narrow", narrow=True)


def test_an_operator_resolves_a_failed_compensation_from_the_page(page, base_url, shoot):
    place_order(page, base_url, "Graphics card", [("ReserveInventory", "compensation", None)])
    expect(page.locator("#saga-live")).to_have_attribute("data-saga-status", "FAILED", timeout=WAIT)
    actions = page.locator("#saga-actions")
    expect(actions).to_contain_text("Needs attention")
    shoot("5-needs-attention")
    saga_path = page.url.removeprefix(base_url)

    page.goto(f"{base_url}/attention")
    expect(page.locator(f"a[href='{saga_path}']")).to_be_visible()
    page.click(f"a[href='{saga_path}']")
    form = page.locator("form", has_text="Resolve ReserveInventory")
    form.locator("button").click()
    expect(form.locator("[id$='-operator-errors']")).to_contain_text("Say who you are")
    form = page.locator("form", has_text="Resolve ReserveInventory")
    form.locator("input[name$='operator']").fill("Grace")
    form.locator("textarea").fill("released the 1 unit by hand in the warehouse system")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("by Grace")
    expect(page.locator("#saga-live")).to_have_attribute("data-saga-status", "COMPENSATED", timeout=WAIT)
    history = page.locator("table.events")
    expect(history).to_contain_text("step.resolved")
    expect(history).to_contain_text("released the 1 unit by hand")
    shoot("6-resolved")


def test_a_booking_with_a_transient_failure_is_retried_live_until_completed(page, base_url, shoot):
    page.goto(f"{base_url}/resources")
    page.locator("#resources h2", has_text="Guided tour").locator("xpath=following-sibling::table[1]") \
        .locator("a", has_text="Book").first.click()
    page.wait_for_url(re.compile(r"/bookings/new\?slot_id=\d+$"))
    expect(page.locator("#slot_id option:checked")).to_contain_text("Guided tour")
    page.select_option("#user_id", label=_option(page, "#user_id", "Grace Hopper"))
    page.select_option("#HoldSlot-kind", "transient")
    page.fill("#HoldSlot-times", "2")
    shoot("7-booking-form")
    shoot("7-booking-form-narrow", narrow=True)
    page.click("button:has-text('Book')")
    page.wait_for_url(re.compile(r"/sagas/\d+$"))
    loads = watch(page)
    expect(page.locator("#saga-live")).to_have_attribute("data-saga-status", "COMPLETED", timeout=WAIT)
    hold = page.locator("[data-step='HoldSlot']")
    expect(hold.locator("tr.outcome-will-retry")).to_have_count(2)
    expect(hold.locator("tr.outcome-succeeded")).to_have_count(1)
    assert loads == [], "the page reloaded"
    assert page.evaluate("window.seenStatuses")[-1] == "COMPLETED" and page.evaluate("window.swaps") > 0
    shoot("8-booking-completed")

    page.goto(f"{base_url}/bookings")
    booking = page.locator("#bookings tbody tr").first
    expect(booking).to_contain_text("Grace Hopper")
    expect(booking.locator(".badge")).to_have_text("confirmed")
    shoot("9-bookings-narrow", narrow=True)


def _option(page, select, text):
    """The full label of the option of a select that contains `text`."""
    return page.locator(f"{select} option", has_text=text).first.inner_text().strip()


def _assert_polling_stopped(page, path):
    """After a terminal fragment, the page sends no further request for the saga."""
    requests = []
    page.on("request", lambda request: requests.append(request.url) if path in request.url else None)
    page.wait_for_timeout(3_000)
    assert requests == []
