"""The JSON API: resources, pagination, and clear errors for bad input (never a 500)."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import place_order


def test_openapi_document_is_published(client):
    spec = client.get("/api/openapi.json").json
    assert {"/api/orders", "/api/sagas", "/api/sagas/{saga_id}", "/api/products"} <= set(spec["paths"])


def test_users_and_products_can_be_created_listed_and_fetched(client):
    user = client.post("/api/users", json={"name": "Lin", "email": "lin@example.com"})
    product = client.post("/api/products", json={"sku": "P1", "name": "Pen", "price_cents": 150, "stock": 4})
    assert (user.status_code, product.status_code) == (201, 201)
    assert client.get(f"/api/users/{user.json['id']}").json["email"] == "lin@example.com"
    assert client.get(f"/api/products/{product.json['id']}").json == {
        "id": product.json["id"], "sku": "P1", "name": "Pen", "price_cents": 150, "stock": 4, "reserved": 0}
    assert [p["sku"] for p in client.get("/api/products").json] == ["P1"]


def test_duplicate_email_is_a_conflict(client):
    client.post("/api/users", json={"name": "Lin", "email": "lin@example.com"})
    response = client.post("/api/users", json={"name": "Lin 2", "email": "LIN@example.com"})
    assert response.status_code == 409
    assert "already exists" in response.json["message"]


@pytest.mark.parametrize("body, fields", [
    ({}, ["product_id", "quantity", "user_id"]),
    ({"user_id": "1", "product_id": 1, "quantity": 1}, ["user_id"]),
    ({"user_id": 1, "product_id": 1, "quantity": 0}, ["quantity"]),
    ({"user_id": 1, "product_id": 1, "quantity": 1001}, ["quantity"]),
    ({"user_id": 999, "product_id": 1, "quantity": 1}, ["user_id"]),
    ({"user_id": 1, "product_id": 999, "quantity": 1}, ["product_id"]),
    ({"user_id": 1, "product_id": 1, "quantity": 1, "coupon": "X"}, ["coupon"]),
    ({"user_id": 1, "product_id": 1, "quantity": 1, "faults": {"Nope": {"kind": "permanent"}}}, ["faults"]),
    ({"user_id": 1, "product_id": 1, "quantity": 1, "faults": {"CreateOrder": {"kind": "meteor"}}}, ["faults"]),
])
def test_invalid_orders_get_422_naming_the_fields(client, shop, body, fields):
    response = client.post("/api/orders", json=body)
    assert response.status_code == 422
    assert response.json["fields"] == fields
    assert response.json["message"].startswith("invalid input")
    assert response.json["errors"]


def test_malformed_json_is_a_client_error(client):
    response = client.post("/api/orders", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.json["message"]


def test_unknown_records_are_404_with_a_message(client):
    for url in ("/api/sagas/12345", "/api/orders/9", "/api/payments/9", "/api/users/9", "/api/products/9"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "does not exist" in response.json["message"]


def test_unknown_api_route_answers_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["code"] == 404


def test_saga_list_filters_by_status_and_type_and_pages_by_cursor(app, client, shop):
    for _ in range(3):
        place_order(client, shop["ada"], shop["keyboard"])
    place_order(client, shop["ivan"], shop["keyboard"])
    run_jobs(app)
    completed = client.get("/api/sagas?status=COMPLETED&type=order_placement&limit=2").json
    assert len(completed["items"]) == 2 and completed["next_cursor"] is not None
    rest = client.get(f"/api/sagas?status=COMPLETED&limit=2&before={completed['next_cursor']}").json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert [s["status"] for s in client.get("/api/sagas?status=COMPENSATED").json["items"]] == ["COMPENSATED"]
    bad = client.get("/api/sagas?status=SLEEPING&limit=500")
    assert bad.status_code == 422 and bad.json["fields"] == ["limit", "status"]


def test_orders_and_payments_are_listed_after_a_saga(app, client, shop):
    saga_id = place_order(client, shop["ada"], shop["keyboard"], 2).json["saga_id"]
    run_jobs(app)
    order = client.get("/api/orders").json[0]
    assert (order["saga_id"], order["status"], order["amount_cents"]) == (saga_id, "CONFIRMED", 10_000)
    payment = client.get("/api/payments").json[0]
    assert (payment["order_id"], payment["status"]) == (order["id"], "CAPTURED")
    assert client.get(f"/api/orders/{order['id']}").json == order
