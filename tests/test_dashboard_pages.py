"""Dashboard pages: one URL serves the page or, for htmx, its fragment; live parts poll until done."""
import re

from app.dashboard.timeline import timeout_fired
from tests.conftest import run_jobs
from tests.helpers import place_order

HX = {"HX-Request": "true"}


def hidden_value(html, name):
    """The value of a hidden input of a rendered form."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert match, f"no input {name}"
    return match.group(1)


def saga_ids(html):
    """Ids of the sagas linked from a page, in order."""
    return [int(i) for i in re.findall(r'href="/sagas/(\d+)"', html)]


def test_overview_is_a_full_page_and_for_htmx_only_its_live_fragment(client, shop):
    page, fragment = client.get("/"), client.get("/", headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.text and 'id="live"' in page.text and "htmx-2.0.11.min.js" in page.text
    assert "<html" not in fragment.text and fragment.text.strip().startswith('<section id="live"')
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_a_history_restore_gets_the_whole_page(client, shop):
    response = client.get("/", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.text


def test_overview_counts_statuses_and_lists_sagas_with_progress_and_retries(app, client, shop):
    place_order(client, shop["ada"], shop["keyboard"], faults={"ProcessPayment": {"kind": "transient", "times": 2}})
    place_order(client, shop["ada"], shop["luxury"])
    run_jobs(app)
    html = client.get("/", headers=HX).text
    assert re.search(r'<span class="n">1</span>\s*<span class="label">completed</span>', html)
    assert re.search(r'<span class="n">1</span>\s*<span class="label">compensated</span>', html)
    assert re.search(r"<strong>1</strong> completed,\s*<strong>1</strong> compensated", html)
    rows = re.findall(r'<tr id="saga-\d+">.*?</tr>', html, re.S)
    assert "compensated" in rows[0] and "2 undone" in rows[0]
    assert "completed" in rows[1] and "5/5" in rows[1] and '<td data-label="Retries">2</td>' in rows[1]


def test_overview_filters_by_status_and_type(app, client, shop):
    completed = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    compensated = place_order(client, shop["ivan"], shop["keyboard"]).json["saga_id"]
    run_jobs(app)
    assert saga_ids(client.get("/?status=COMPLETED", headers=HX).text) == [completed]
    assert saga_ids(client.get("/?status=COMPENSATED&type=order_placement", headers=HX).text) == [compensated]
    assert saga_ids(client.get("/?status=FAILED", headers=HX).text) == []


def test_an_invalid_filter_is_reported_and_ignored(app, client, shop):
    saga = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    response = client.get("/?status=SLEEPING&type=nope")
    assert response.status_code == 422
    assert "filter ignored" in response.text and saga_ids(response.text) == [saga]


def test_overview_pages_by_cursor_and_an_older_page_of_finished_sagas_stops_polling(app, client, shop):
    ids = [place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(22)]
    run_jobs(app)
    first = client.get("/", headers=HX).text
    assert saga_ids(first)[:20] == ids[::-1][:20] and 'hx-trigger="every 1s"' in first
    older = re.search(r'href="(/\?before=\d+)"', first).group(1)
    second = client.get(older, headers=HX).text
    assert saga_ids(second)[:2] == ids[1::-1]
    assert "hx-trigger" not in second


def test_running_saga_fragment_polls_and_the_terminal_fragment_does_not(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    running = client.get(f"/sagas/{saga_id}", headers=HX)
    assert running.text.strip().startswith('<section id="saga-live"') and "<html" not in running.text
    assert 'hx-trigger="every 1s"' in running.text and f"/sagas/{saga_id}?seen=PENDING" in running.text
    run_jobs(app)
    done = client.get(f"/sagas/{saga_id}?seen=PENDING", headers=HX)
    assert done.status_code == 200 and 'data-saga-status="COMPLETED"' in done.text
    assert "hx-trigger" not in done.text and "hx-get" not in done.text.split('id="saga-actions"')[0]


def test_full_saga_page_has_the_actions_panel_outside_the_polled_region(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    html = client.get(f"/sagas/{saga_id}").text
    assert "<html" in html and html.index('id="saga-actions"') < html.index('id="saga-live"')
    assert "Cancel saga #" in html


def test_the_fragment_replaces_the_actions_panel_out_of_band_only_when_the_state_changed(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    assert "hx-swap-oob" not in client.get(f"/sagas/{saga_id}?seen=PENDING", headers=HX).text
    run_jobs(app)
    changed = client.get(f"/sagas/{saga_id}?seen=RUNNING", headers=HX).text
    assert 'id="saga-actions" class="card actions" aria-label="Operator actions" hx-swap-oob="true"' in changed
    assert "Nothing to do" in changed


def test_saga_page_shows_every_attempt_with_its_error(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "transient", "times": 2}}).json["saga_id"]
    run_jobs(app)
    html = client.get(f"/sagas/{saga_id}").text
    payment = re.search(r'data-step="ProcessPayment">.*?</li>', html, re.S).group(0)
    assert payment.count('class="outcome-will-retry"') == 2 and payment.count('class="outcome-succeeded"') == 1
    assert "TransientError</code> simulated outage (1 of 2)" in payment
    assert "ProcessPayment: transient ×2" in html


def test_saga_page_counts_down_to_a_scheduled_retry(app, client, shop):
    app.config["SAGA_RETRY_DELAY"] = 600
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"CreateOrder": {"kind": "transient", "times": 1}}).json["saga_id"]
    run_jobs(app)
    fragment = client.get(f"/sagas/{saga_id}", headers=HX).text
    seconds = int(re.search(r"next attempt in (\d+) s", fragment).group(1))
    assert 300 <= seconds <= 600 and 'hx-trigger="every 1s"' in fragment


def test_compensations_are_their_own_phase_in_reverse_order(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["luxury"]).json["saga_id"]
    run_jobs(app)
    html = client.get(f"/sagas/{saga_id}").text
    assert re.findall(r'data-compensation="(\w+)"', html) == [
        "ProcessPayment", "CreateOrder", "ReserveInventory", "ValidateUser"]
    assert "Nothing to undo: the step was rejected" in html and "this step has no compensation" in html
    assert "not retried forward" in html
    history = html[html.index("<h2>History</h2>"):]
    assert history.index("compensation.succeeded") < history.index("saga.compensated")


def test_timeouts_are_named_by_what_fired():
    step = {"timeout_seconds": 2}
    assert timeout_fired("Timeout", "Task exceeded maximum timeout value", step, "step") == "step timeout (2 s)"
    assert timeout_fired("Timeout", "timed out", step, "compensation") == "compensation timeout (2 s)"
    assert timeout_fired("TransientError", "simulated outage", step, "step") is None


def test_saga_deadline_is_named(app):
    with app.test_request_context():
        assert timeout_fired("Stopped", "saga deadline exceeded", {"timeout_seconds": 2}, "step") == \
            f"saga deadline ({app.config['SAGA_TIMEOUT']} s)"


def test_unknown_saga_is_an_html_404(client):
    response = client.get("/sagas/4242")
    assert response.status_code == 404
    assert "text/html" in response.content_type and "Saga 4242 does not exist." in response.text


def test_domain_pages_show_stock_orders_payments_and_notifications(app, client, shop):
    completed = place_order(client, shop["ada"], shop["keyboard"], 2).json["saga_id"]
    declined = place_order(client, shop["ada"], shop["luxury"]).json["saga_id"]
    run_jobs(app)
    products = client.get("/products").text
    assert re.search(r"Keyboard</td>\s*<td[^>]*>50\.00</td><td[^>]*>8</td><td[^>]*>0</td>", products)
    orders = client.get("/orders").text
    assert f'href="/sagas/{completed}"' in orders and "confirmed" in orders and "cancelled" in orders
    payments = client.get("/payments").text
    assert re.search(r'<span class="n">1</span><span class="label">captured</span>', payments)
    assert re.search(r'<span class="n">2</span><span class="label">declined</span>', payments)
    assert f'href="/sagas/{declined}"' in payments
    assert "order confirmed" in client.get("/notifications").text
    assert "inactive" in client.get("/users").text


def test_domain_pages_ignore_a_malformed_cursor(client, shop):
    for url in ("/products?before=abc", "/users?before=-3", "/orders?before=99999999999999999999999"):
        assert client.get(url).status_code == 200, url


def test_an_id_too_large_for_the_database_is_a_404_not_a_500(client):
    assert client.get("/sagas/99999999999999999999999").status_code == 404
    assert client.post("/sagas/99999999999999999999999/cancel").status_code == 404
