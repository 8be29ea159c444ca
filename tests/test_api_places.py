"""The JSON API for resources, slots, courses, bookings, enrollments and order changes: what it
accepts, the saga each request starts, and clear errors (422 naming fields, 404, 409)."""
import pytest

from tests.conftest import run_jobs
from tests.helpers import place_order
from tests.place_helpers import created, run, school, start, venue  # noqa: F401


def test_new_endpoints_are_documented(client):
    paths = set(client.get("/api/openapi.json").json["paths"])
    assert {"/api/resources", "/api/resources/{resource_id}/slots", "/api/slots/{slot_id}",
            "/api/bookings", "/api/bookings/{booking_id}/cancel", "/api/bookings/{booking_id}/move",
            "/api/courses", "/api/enrollments", "/api/enrollments/{enrollment_id}/cancel",
            "/api/enrollments/{enrollment_id}/transfer", "/api/orders/{order_id}/cancel",
            "/api/orders/{order_id}/quantity"} <= paths


def test_resources_slots_and_courses_can_be_created_listed_and_fetched(client):
    room = client.post("/api/resources", json={"name": "Court 1"})
    assert room.status_code == 201
    slot = client.post(f"/api/resources/{room.json['id']}/slots",
                       json={"starts_at": "2099-05-01T10:00:00+02:00", "places": 3, "price_cents": 1_200})
    assert slot.status_code == 201
    assert client.get(f"/api/slots/{slot.json['id']}").json == {
        "id": slot.json["id"], "resource_id": room.json["id"], "starts_at": "2099-05-01T08:00:00+00:00",
        "capacity": 3, "available": 3, "held": 0, "taken": 0, "price_cents": 1_200}
    assert [s["id"] for s in client.get(f"/api/resources/{room.json['id']}/slots").json] == [slot.json["id"]]
    course = client.post("/api/courses", json={"code": "DB", "title": "Databases", "seats": 4, "price_cents": 9_900})
    assert course.status_code == 201
    assert client.get(f"/api/courses/{course.json['id']}").json["available"] == 4
    assert [c["code"] for c in client.get("/api/courses").json] == ["DB"]
    assert [r["name"] for r in client.get("/api/resources").json] == ["Court 1"]


def test_taken_names_codes_and_start_times_are_conflicts(client):
    room = client.post("/api/resources", json={"name": "Court 1"}).json["id"]
    body = {"starts_at": "2099-05-01T10:00:00", "places": 3, "price_cents": 1_200}
    client.post(f"/api/resources/{room}/slots", json=body)
    client.post("/api/courses", json={"code": "DB", "title": "Databases", "seats": 4, "price_cents": 1})
    assert client.post("/api/resources", json={"name": "Court 1"}).status_code == 409
    assert client.post(f"/api/resources/{room}/slots", json=body).status_code == 409
    assert client.post("/api/courses", json={"code": "DB", "title": "Again", "seats": 1, "price_cents": 1}).status_code == 409


@pytest.mark.parametrize("url, body, fields", [
    ("/api/bookings", {}, ["slot_id", "user_id"]),
    ("/api/bookings", {"user_id": 999, "slot_id": 1}, ["user_id"]),
    ("/api/bookings", {"user_id": 1, "slot_id": 999}, ["slot_id"]),
    ("/api/bookings", {"user_id": 1, "slot_id": "1"}, ["slot_id"]),
    ("/api/bookings", {"user_id": 1, "slot_id": 1, "faults": {"CreateOrder": {"kind": "permanent"}}}, ["faults"]),
    ("/api/bookings/1/move", {"slot_id": 0}, ["slot_id"]),
    ("/api/bookings/1/cancel", {"faults": {"HoldSlot": {"kind": "permanent"}}}, ["faults"]),
    ("/api/bookings/1/cancel", {"reason": "x"}, ["reason"]),
    ("/api/enrollments", {"user_id": 1}, ["course_id"]),
    ("/api/enrollments", {"user_id": 1, "course_id": 999}, ["course_id"]),
    ("/api/enrollments/1/transfer", {"course_id": 1, "faults": {"FreeOldSeat": {"kind": "meteor"}}}, ["faults"]),
    ("/api/enrollments/1/cancel", {"faults": {"FreeSeat": {"kind": "transient", "times": 99}}}, ["faults"]),
    ("/api/orders/1/quantity", {"quantity": 0}, ["quantity"]),
    ("/api/orders/1/quantity", {}, ["quantity"]),
    ("/api/orders/1/cancel", {"faults": {"ProcessPayment": {"kind": "permanent"}}}, ["faults"]),
    ("/api/resources", {"name": ""}, ["name"]),
    ("/api/resources/1/slots", {"starts_at": "soon", "places": 0, "price_cents": -1},
     ["places", "price_cents", "starts_at"]),
    ("/api/resources/1/slots", {"starts_at": "0001-01-01T00:00:00+00:01", "places": 1, "price_cents": 1},
     ["starts_at"]),  # before year 1 once in UTC (the API fuzzer found it)
    ("/api/resources/1/slots", {"starts_at": "9999-12-31T23:59:59-00:01", "places": 1, "price_cents": 1},
     ["starts_at"]),
    ("/api/courses", {"code": "X", "title": "Y", "seats": 0, "price_cents": 1}, ["seats"]),
])
def test_invalid_requests_get_422_naming_the_fields(client, venue, school, url, body, fields):
    response = client.post(url, json=body)
    assert response.status_code == 422
    assert response.json["fields"] == fields
    assert response.json["message"].startswith("invalid input")


@pytest.mark.parametrize("method, url, body", [
    ("get", "/api/bookings/9", None), ("get", "/api/enrollments/9", None), ("get", "/api/courses/9", None),
    ("get", "/api/slots/9", None), ("get", "/api/resources/9", None), ("get", "/api/resources/9/slots", None),
    ("post", "/api/resources/9/slots", {"starts_at": "2099-01-01T00:00:00", "places": 1, "price_cents": 1}),
    ("post", "/api/bookings/9/cancel", {}), ("post", "/api/bookings/9/move", {"slot_id": 1}),
    ("post", "/api/enrollments/9/cancel", {}), ("post", "/api/enrollments/9/transfer", {"course_id": 1}),
    ("post", "/api/orders/9/cancel", {}), ("post", "/api/orders/9/quantity", {"quantity": 2}),
])
def test_unknown_records_in_the_path_are_404(client, venue, school, method, url, body):
    response = getattr(client, method)(url, json=body) if body is not None else client.get(url)
    assert response.status_code == 404
    assert "does not exist" in response.json["message"]


def test_requests_the_current_state_forbids_are_409(app, client, venue, school):
    booking = created(app, "booking", run(app, client, "/api/bookings",
                                          {"user_id": venue["ada"], "slot_id": venue["early"]}))
    enrollment = created(app, "enrollment", run(app, client, "/api/enrollments",
                                                {"user_id": school["ada"], "course_id": school["python"]}))
    order_saga = place_order(client, venue["ada"], venue["keyboard"], 2).json["saga_id"]
    run_jobs(app)
    order = created(app, "order", order_saga)
    conflicts = [
        ("/api/bookings", {"user_id": venue["ada"], "slot_id": venue["past"]}, "started"),
        ("/api/bookings/%d/move" % booking, {"slot_id": venue["early"]}, "already in slot"),
        ("/api/bookings/%d/move" % booking, {"slot_id": venue["past"]}, "started"),
        ("/api/enrollments", {"user_id": school["ada"], "course_id": school["python"]}, "already enrolled"),
        ("/api/enrollments/%d/transfer" % enrollment, {"course_id": school["python"]}, "already enrolled"),
        ("/api/orders/%d/quantity" % order, {"quantity": 2}, "already has 2"),
    ]
    for url, body, message in conflicts:
        response = client.post(url, json=body)
        assert (response.status_code, message in response.json["message"]) == (409, True), url
    run(app, client, f"/api/bookings/{booking}/cancel")
    again = client.post(f"/api/bookings/{booking}/cancel", json={})
    assert again.status_code == 409
    assert again.json["message"] == f"booking {booking} is CANCELLED, not CONFIRMED"


def test_an_idempotency_key_replays_the_same_saga_even_after_the_state_changed(app, client, venue):
    booking = created(app, "booking", run(app, client, "/api/bookings",
                                          {"user_id": venue["ada"], "slot_id": venue["early"]}))
    first = start(client, f"/api/bookings/{booking}/cancel", key="cancel-1")
    assert first.status_code == 202
    run_jobs(app)
    replay = start(client, f"/api/bookings/{booking}/cancel", key="cancel-1")
    assert (replay.status_code, replay.json["saga_id"]) == (200, first.json["saga_id"])
    reused = start(client, f"/api/bookings/{booking}/cancel", faults={"ReleaseSlot": {"kind": "transient"}},
                   key="cancel-1")
    assert (reused.status_code, reused.json["message"]) == (
        409, "this Idempotency-Key was already used for a different request")
    reused = start(client, "/api/bookings", {"user_id": venue["ada"], "slot_id": venue["late"]}, key="cancel-1")
    assert reused.status_code == 409


def test_payments_show_what_they_are_for_and_refunds_as_negative_amounts(app, client, venue):
    booking = created(app, "booking", run(app, client, "/api/bookings",
                                          {"user_id": venue["ada"], "slot_id": venue["early"]}))
    run(app, client, f"/api/bookings/{booking}/cancel")
    payments = client.get("/api/payments").json
    assert [(p["subject"], p["amount_cents"], p["status"]) for p in payments] == [
        (f"booking:{booking}", -4_000, "CAPTURED"), (f"booking:{booking}", 4_000, "CAPTURED")]
    assert client.get(f"/api/bookings/{booking}").json["status"] == "CANCELLED"
    assert [b["id"] for b in client.get("/api/bookings").json] == [booking]
