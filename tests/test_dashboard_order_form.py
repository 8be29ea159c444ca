"""The new-order form: faults per step, validation next to the fields, one saga per form token, CSRF."""
import pytest

from app.extensions import db
from app.models import Saga
from tests.conftest import run_jobs
from tests.helpers import saga_state
from tests.test_dashboard_pages import HX, hidden_value

STEPS = ("ValidateUser", "ReserveInventory", "CreateOrder", "ProcessPayment", "SendNotification")


def open_form(client):
    """GET the form; returns (its CSRF token, its form token)."""
    html = client.get("/orders/new").text
    return hidden_value(html, "csrf_token"), hidden_value(html, "token")


def order_data(client, shop, **changes):
    """A complete, valid submission of the form, with changes."""
    csrf, token = open_form(client)
    data = {"csrf_token": csrf, "token": token, "user_id": shop["ada"], "product_id": shop["keyboard"],
            "quantity": "1", **{f"{step}-kind": "none" for step in STEPS},
            **{f"{step}-times": "1" for step in STEPS}}
    data.update(changes)
    return data


def saga_count(app):
    """How many sagas exist."""
    with app.app_context():
        return db.session.execute(db.select(db.func.count(Saga.id))).scalar()


def test_the_form_offers_a_failure_per_step_and_carries_its_tokens(client, shop):
    html = client.get("/orders/new").text
    for step in STEPS:
        assert f'name="{step}-kind"' in html and f'name="{step}-times"' in html
    assert '<option value="compensation">' not in html.split('name="ValidateUser-kind"')[1].split("</select>")[0]
    assert '<option value="fallback">' in html.split('name="ProcessPayment-kind"')[1].split("</select>")[0]
    assert "Ivan" in html and "(inactive)" in html
    assert len(hidden_value(html, "token")) >= 16 and hidden_value(html, "csrf_token")


def test_submitting_starts_the_saga_with_the_faults_and_redirects_to_its_page(app, client, shop):
    data = order_data(client, shop, quantity="2", **{
        "ProcessPayment-kind": "transient", "ProcessPayment-times": "2",
        "SendNotification-kind": "compensation", "CreateOrder-times": ""})
    response = client.post("/orders/new", data=data)
    assert response.status_code == 303
    saga_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        assert saga.payload == {"user_id": shop["ada"], "product_id": shop["keyboard"], "quantity": 2, "faults": {
            "ProcessPayment": {"kind": "transient", "times": 2},
            "SendNotification": {"kind": "compensation", "times": 1}}}
        assert saga.idempotency_key == f"form-{data['token']}"
    run_jobs(app)
    assert saga_state(app, saga_id)["status"] == "COMPLETED"


def test_an_htmx_submit_is_sent_to_the_saga_page_with_hx_redirect(client, shop):
    data = order_data(client, shop)
    response = client.post("/orders/new", data=data, headers=HX)
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith("/sagas/")


def test_a_double_submit_with_the_same_token_creates_one_saga(app, client, shop):
    data = order_data(client, shop)
    first, second = client.post("/orders/new", data=data), client.post("/orders/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert saga_count(app) == 1


def test_a_token_reused_for_other_values_asks_to_submit_again_with_a_new_token(app, client, shop):
    data = order_data(client, shop)
    client.post("/orders/new", data=data)
    response = client.post("/orders/new", data={**data, "quantity": "3"})
    assert response.status_code == 422 and "already submitted with other values" in response.text
    assert hidden_value(response.text, "token") != data["token"]
    assert saga_count(app) == 1


@pytest.mark.parametrize("changes, field, message", [
    ({"quantity": "0"}, "quantity", "Between 1 and 1000."),
    ({"quantity": "1001"}, "quantity", "Between 1 and 1000."),
    ({"quantity": "many"}, "quantity", "Not a valid integer value."),
    ({"quantity": ""}, "quantity", "Enter a quantity."),
    ({"user_id": "999"}, "user_id", "Choose an existing customer."),
    ({"product_id": "999"}, "product_id", "Choose an existing product."),
    ({"product_id": "x"}, "product_id", "Choose an existing product."),
    ({"CreateOrder-kind": "transient", "CreateOrder-times": "11"}, "CreateOrder-times", "Between 1 and 10."),
    ({"CreateOrder-kind": "transient", "CreateOrder-times": ""}, "CreateOrder-times", "How many times"),
    ({"CreateOrder-kind": "meteor"}, "CreateOrder-kind", "Not a valid choice."),
    ({"ValidateUser-kind": "compensation"}, "ValidateUser-kind", "Not a valid choice."),
])
def test_invalid_input_re_renders_the_form_with_the_message_next_to_the_field(app, client, shop, changes, field,
                                                                              message):
    response = client.post("/orders/new", data=order_data(client, shop, **changes))
    assert response.status_code == 422
    assert f'id="{field}-errors"' in response.text
    errors = response.text.split(f'id="{field}-errors"')[1].split("</ul>")[0]
    assert message in errors
    assert 'aria-invalid="true"' in response.text and "<html" in response.text
    assert saga_count(app) == 0


def test_invalid_htmx_submit_gets_just_the_form_back(client, shop):
    response = client.post("/orders/new", data=order_data(client, shop, quantity="0"), headers=HX)
    assert response.status_code == 422
    assert response.text.strip().startswith('<form id="order-placement-form"') and "<html" not in response.text


def test_a_missing_form_token_is_reported_and_replaced(app, client, shop):
    data = order_data(client, shop)
    del data["token"]
    response = client.post("/orders/new", data=data)
    assert response.status_code == 422 and "This form has no token" in response.text
    assert len(hidden_value(response.text, "token")) >= 16 and saga_count(app) == 0


def test_the_form_refuses_a_post_without_csrf_token(app, client, shop):
    data = order_data(client, shop)
    del data["csrf_token"]
    response = client.post("/orders/new", data=data)
    assert response.status_code == 400 and "CSRF" in response.text
    assert saga_count(app) == 0


def test_htmx_may_send_the_csrf_token_in_a_header(client, shop):
    data = order_data(client, shop)
    token = data.pop("csrf_token")
    response = client.post("/orders/new", data=data, headers={**HX, "X-CSRFToken": token})
    assert response.headers["HX-Redirect"].startswith("/sagas/")


def test_every_page_puts_the_csrf_token_in_hx_headers(client, shop):
    html = client.get("/").text
    assert '<body hx-headers="{&#34;X-CSRFToken&#34;: &#34;' in html
