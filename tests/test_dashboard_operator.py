"""Operator actions from the dashboard: POSTs with CSRF that change state and write who and why."""
import re

import pytest

from app.extensions import db
from app.models import SagaEvent
from tests.conftest import run_jobs
from tests.helpers import place_order, saga_state
from tests.test_dashboard_pages import HX, hidden_value

STUCK = {"ReserveInventory": {"kind": "compensation"}}


def csrf(client):
    """A CSRF token of the client's session."""
    return hidden_value(client.get("/orders/new").text, "csrf_token")


def events(app, saga_id, event_type):
    """(actor, detail) of a saga's events of one type."""
    with app.app_context():
        rows = db.session.execute(db.select(SagaEvent).filter_by(saga_id=saga_id, type=event_type)).scalars()
        return [(event.actor, event.detail) for event in rows]


def failed_saga(app, client, shop):
    """A saga whose ReserveInventory compensation failed for good: FAILED, needs attention."""
    saga_id = place_order(client, shop["ada"], shop["luxury"], faults=STUCK).json["saga_id"]
    run_jobs(app)
    assert saga_state(app, saga_id)["status"] == "FAILED"
    return saga_id


def test_cancel_compensates_a_pending_saga_and_records_who_and_why(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    response = client.post(f"/sagas/{saga_id}/cancel", data={
        "cancel-csrf_token": csrf(client), "cancel-operator": "Grace", "cancel-reason": "customer called"})
    assert response.status_code == 303 and response.headers["Location"] == f"/sagas/{saga_id}"
    assert events(app, saga_id, "saga.cancel_requested") == [("Grace", "customer called")]
    run_jobs(app)
    assert saga_state(app, saga_id)["status"] == "COMPENSATED"
    page = client.get(f"/sagas/{saga_id}").text
    assert "Cancellation requested" in page and "(by Grace)" in page


def test_cancelling_a_finished_saga_is_refused_in_the_form(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    run_jobs(app)
    response = client.post(f"/sagas/{saga_id}/cancel", data={
        "cancel-csrf_token": csrf(client), "cancel-operator": "Grace", "cancel-reason": ""})
    assert response.status_code == 409 and "only a pending or running saga can be cancelled" in response.text
    assert events(app, saga_id, "saga.cancel_requested") == []


def test_an_action_needs_a_name_when_nobody_is_signed_in(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    response = client.post(f"/sagas/{saga_id}/cancel", data={"cancel-csrf_token": csrf(client)})
    assert response.status_code == 422
    assert "Say who you are." in response.text.split('id="cancel-operator-errors"')[1]
    assert events(app, saga_id, "saga.cancel_requested") == []


def test_retry_gives_failed_compensations_new_attempts_and_is_audited(app, client, shop):
    saga_id = failed_saga(app, client, shop)
    response = client.post(f"/sagas/{saga_id}/retry", data={
        "retry-csrf_token": csrf(client), "retry-operator": "Grace", "retry-reason": "warehouse back online"})
    assert response.status_code == 303
    assert events(app, saga_id, "saga.retry_requested") == [("Grace", "warehouse back online")]
    assert saga_state(app, saga_id)["status"] == "COMPENSATING"
    run_jobs(app)
    assert saga_state(app, saga_id)["steps"]["ReserveInventory"][2] > 5


def test_resolve_marks_the_step_and_ends_the_saga_compensated(app, client, shop):
    saga_id = failed_saga(app, client, shop)
    page = client.get(f"/sagas/{saga_id}").text
    assert "Resolve ReserveInventory by hand" in page and "Retry compensations" in page
    response = client.post(f"/sagas/{saga_id}/steps/1/resolve", data={
        "resolve-1-csrf_token": csrf(client), "resolve-1-operator": "Grace",
        "resolve-1-reason": "released the units by hand"})
    assert response.status_code == 303
    state = saga_state(app, saga_id)
    assert state["status"] == "COMPENSATED" and state["steps"]["ReserveInventory"][0] == "RESOLVED"
    assert events(app, saga_id, "step.resolved") == [("Grace", "released the units by hand")]


def test_resolve_needs_a_reason(app, client, shop):
    saga_id = failed_saga(app, client, shop)
    response = client.post(f"/sagas/{saga_id}/steps/1/resolve", data={
        "resolve-1-csrf_token": csrf(client), "resolve-1-operator": "Grace", "resolve-1-reason": " "})
    assert response.status_code == 422 and "Say what was done to fix it." in response.text
    assert saga_state(app, saga_id)["status"] == "FAILED"


def test_resolving_a_step_that_is_not_stuck_is_refused(app, client, shop):
    saga_id = failed_saga(app, client, shop)
    response = client.post(f"/sagas/{saga_id}/steps/2/resolve", data={
        "resolve-2-csrf_token": csrf(client), "resolve-2-operator": "Grace", "resolve-2-reason": "why not"})
    assert response.status_code == 409
    assert events(app, saga_id, "step.resolved") == []


def test_htmx_actions_redirect_on_success_and_return_the_panel_on_error(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    headers = {**HX, "X-CSRFToken": csrf(client)}
    rejected = client.post(f"/sagas/{saga_id}/cancel", data={}, headers=headers)
    assert rejected.status_code == 422
    assert rejected.text.strip().startswith('<section id="saga-actions"') and "<html" not in rejected.text
    done = client.post(f"/sagas/{saga_id}/cancel", data={"cancel-operator": "Grace"}, headers=headers)
    assert done.headers["HX-Redirect"] == f"/sagas/{saga_id}"
    assert events(app, saga_id, "saga.cancel_requested") == [("Grace", "cancelled by an operator")]


@pytest.mark.parametrize("path", ["cancel", "retry", "steps/1/resolve"])
def test_actions_refuse_a_post_without_csrf_token(app, client, shop, path):
    saga_id = failed_saga(app, client, shop)
    before = saga_state(app, saga_id)["events"]
    response = client.post(f"/sagas/{saga_id}/{path}", data={"operator": "Mallory", "reason": "x"})
    assert response.status_code == 400
    assert saga_state(app, saga_id)["events"] == before


def test_actions_on_an_unknown_saga_are_404(client, shop):
    response = client.post("/sagas/4242/cancel", data={"cancel-csrf_token": csrf(client),
                                                       "cancel-operator": "Grace"})
    assert response.status_code == 404 and "does not exist" in response.text


def test_the_needs_attention_view_lists_failed_sagas_with_their_stuck_steps(app, client, shop):
    stuck = failed_saga(app, client, shop)
    fine = place_order(client, shop["ada"], shop["luxury"]).json["saga_id"]
    run_jobs(app)
    html = client.get("/attention").text
    assert f'href="/sagas/{stuck}"' in html and f'href="/sagas/{fine}"' not in html
    assert re.search(r"<strong>ReserveInventory</strong>.*simulated compensation failure", html)
    assert client.get("/attention", headers=HX).text.strip().startswith('<section id="attention"')


def test_the_remembered_name_fills_the_next_form(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    client.post(f"/sagas/{saga_id}/cancel", data={"cancel-csrf_token": csrf(client), "cancel-operator": "Grace"})
    other = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    assert re.search(r'name="cancel-operator"[^>]*value="Grace"', client.get(f"/sagas/{other}").text)
