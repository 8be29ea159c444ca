"""Admin access: open without ADMIN_PASSWORD; with it, pages, actions and the API need the password."""
import base64

import pytest

from tests.helpers import place_order
from tests.test_dashboard_operator import events
from tests.test_dashboard_pages import HX, hidden_value

PASSWORD = "correct horse battery staple"


def basic(user, password):
    """An HTTP basic Authorization header."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def guarded(app):
    """The app with an admin password configured."""
    app.config["ADMIN_PASSWORD"] = PASSWORD
    return app


def sign_in(client, name="Grace", password=PASSWORD, next_url="/"):
    """Sign in through the login form."""
    token = hidden_value(client.get("/login").text, "csrf_token")
    return client.post(f"/login?next={next_url}", data={"csrf_token": token, "name": name, "password": password})


def test_without_a_password_everything_is_open(client, shop):
    for url in ("/", "/orders/new", "/attention", "/products", "/api/sagas"):
        assert client.get(url).status_code == 200, url
    assert client.get("/login").headers["Location"] == "/"


@pytest.mark.parametrize("url", ["/", "/sagas/1", "/orders/new", "/products", "/attention"])
def test_pages_send_browsers_to_the_login_form(guarded, client, url):
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_htmx_polls_without_a_session_are_redirected_to_login(guarded, client):
    response = client.get("/", headers=HX)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_the_api_asks_for_basic_auth_and_accepts_it(guarded, client, shop):
    refused = client.get("/api/sagas")
    assert refused.status_code == 401 and refused.json["message"].startswith("credentials required: admin password")
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.get("/api/sagas", headers=basic("ops", "wrong")).status_code == 401
    assert client.get("/api/sagas", headers=basic("ops", PASSWORD)).status_code == 200
    assert client.post("/api/sagas/1/cancel", json={}).status_code == 401


def test_static_assets_and_the_liveness_probe_stay_open(guarded, client):
    assert client.get("/static/dashboard.css").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_a_wrong_password_re_renders_the_login_form(guarded, client):
    response = sign_in(client, password="guess")
    assert response.status_code == 422 and "Wrong password." in response.text
    assert client.get("/").status_code == 302


def test_signing_in_opens_the_pages_and_names_the_operator_in_the_history(guarded, client, shop):
    response = sign_in(client, next_url="/attention")
    assert response.status_code == 302 and response.headers["Location"] == "/attention"
    saga_id = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    page = client.get(f"/sagas/{saga_id}").text
    assert "Signed in as <strong>Grace</strong>" in page and 'name="cancel-operator"' not in page
    token = hidden_value(page, "cancel-csrf_token")
    assert client.post(f"/sagas/{saga_id}/cancel", data={"cancel-csrf_token": token,
                                                         "cancel-operator": "Mallory"}).status_code == 303
    assert events(guarded, saga_id, "saga.cancel_requested") == [("Grace", "cancelled by an operator")]


def test_login_never_redirects_off_site(guarded, client):
    for target in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        assert sign_in(client, next_url=target).headers["Location"] == "/", target


def test_signing_out_closes_the_pages_again(guarded, client):
    sign_in(client)
    token = hidden_value(client.get("/").text, "csrf_token")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_changing_the_password_signs_everybody_out(guarded, client):
    sign_in(client)
    guarded.config["ADMIN_PASSWORD"] = "a new one"
    assert client.get("/").status_code == 302
