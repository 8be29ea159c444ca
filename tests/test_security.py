"""Doors: API token for writes, security headers, size limits, no leaked internals, secret key."""
import pytest

from app import create_app
from tests.helpers import place_order

TOKEN = "s3cret-token"


@pytest.fixture
def token(app):
    """Require the API token for the JSON API's writes."""
    app.config["API_TOKEN"] = TOKEN
    return {"Authorization": f"Bearer {TOKEN}"}


def test_api_writes_need_the_token_and_reads_stay_open(client, shop, token):
    refused = place_order(client, shop["ada"], shop["keyboard"])
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert "API token" in refused.json["message"]
    wrong = client.post("/api/users", json={"name": "X", "email": "x@example.com"},
                        headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    accepted = client.post("/api/orders", json={"user_id": shop["ada"], "product_id": shop["keyboard"],
                                                "quantity": 1}, headers=token)
    assert accepted.status_code == 202
    assert client.get("/api/sagas").status_code == 200


def test_operator_actions_record_the_authenticated_name_not_the_claimed_one(client, shop, token):
    saga_id = client.post("/api/orders", json={"user_id": shop["ada"], "product_id": shop["keyboard"],
                                               "quantity": 1}, headers=token).json["saga_id"]
    response = client.post(f"/api/sagas/{saga_id}/cancel", json={"operator": "someone-else"}, headers=token)
    assert response.status_code == 200
    cancel = next(e for e in response.json["events"] if e["type"] == "saga.cancel_requested")
    assert cancel["actor"] == "api-token"


@pytest.mark.parametrize("url", ["/", "/api/sagas", "/api/openapi.json", "/orders/new"])
def test_every_response_carries_the_security_headers(client, url):
    response = client.get(url)
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_oversized_requests_are_refused_with_413(client):
    response = client.post("/api/users", data="x" * (2 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_an_unexpected_error_answers_500_without_internals(app, client):
    @app.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/api/boom")
    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_serving_with_redis_refuses_to_start_without_a_secret_key(monkeypatch):
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app({"REDIS_URL": "redis://127.0.0.1:1/0", "SECRET_KEY": None})
