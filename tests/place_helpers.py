"""Fixtures and helpers for the booking, enrollment and order-change tests: a venue, a school,
sagas started through the API, and a snapshot of every record they touch."""
from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.models import (Booking, Course, Enrollment, Hold, Notification, Order, Payment, Product,
                        Reservation, Resource, Saga, Slot)
from tests.conftest import run_jobs

FUTURE = datetime(2099, 1, 1, 10, 0)
REFUSED = {"kind": "permanent"}
OUTLASTS_RETRIES = {"kind": "transient", "times": 5}  # more failures than SAGA_RETRY_ATTEMPTS (3)


@pytest.fixture
def venue(app, shop):
    """A resource with slots: "early" (2 places, 40.00), "single" (1 place, 40.00), "late"
    (2 places, 65.00), "past" (already started); plus the shop's users."""
    with app.app_context():
        room = Resource(name="Room")
        db.session.add(room)
        db.session.flush()
        specs = {"early": (FUTURE, 2, 4_000), "single": (FUTURE + timedelta(hours=1), 1, 4_000),
                 "late": (FUTURE + timedelta(hours=2), 2, 6_500), "past": (datetime(2000, 1, 1), 2, 4_000)}
        slots = {name: Slot(resource_id=room.id, starts_at=start, capacity=places, available=places,
                            held=0, price_cents=price) for name, (start, places, price) in specs.items()}
        db.session.add_all(slots.values())
        db.session.commit()
        return {**shop, **{name: slot.id for name, slot in slots.items()}}


@pytest.fixture
def school(app, shop):
    """Courses: "python" (2 seats, 300.00), "go" (1 seat, 450.00), "rust" (2 seats, 200.00),
    "gold" (2 seats, 6,000.00: over the card limit); plus the shop's users."""
    with app.app_context():
        specs = {"python": (2, 30_000), "go": (1, 45_000), "rust": (2, 20_000), "gold": (2, 600_000)}
        courses = {name: Course(code=name.upper(), title=name.capitalize(), capacity=seats,
                                available=seats, held=0, price_cents=price)
                   for name, (seats, price) in specs.items()}
        db.session.add_all(courses.values())
        db.session.commit()
        return {**shop, **{name: course.id for name, course in courses.items()}}


@pytest.fixture
def booked(app, client, venue):
    """Ada's confirmed booking of the "early" slot (40.00): (saga id, booking id)."""
    saga_id = book(app, client, venue)
    return saga_id, created(app, "booking", saga_id)


@pytest.fixture
def enrolled(app, client, school):
    """Ada's active enrollment in "python" (300.00): (saga id, enrollment id)."""
    saga_id = enroll(app, client, school)
    return saga_id, created(app, "enrollment", saga_id)


def book(app, client, venue, slot="early", faults=None):
    """Book Ada a place in a slot through the API and run the saga; returns the saga's id."""
    return run(app, client, "/api/bookings", {"user_id": venue["ada"], "slot_id": venue[slot]}, faults)


def enroll(app, client, school, course="python", faults=None):
    """Enroll Ada in a course through the API and run the saga; returns the saga's id."""
    return run(app, client, "/api/enrollments", {"user_id": school["ada"], "course_id": school[course]}, faults)


def start(client, url, body=None, faults=None, key=None):
    """POST a saga-starting request (with faults, if any) and return the response."""
    body = dict(body or {})
    if faults is not None:
        body["faults"] = faults
    return client.post(url, json=body, headers={"Idempotency-Key": key} if key else {})


def run(app, client, url, body=None, faults=None):
    """Start a saga through the API, run its jobs, and return the saga's id."""
    response = start(client, url, body, faults)
    assert response.status_code == 202, response.json
    run_jobs(app)
    return response.json["saga_id"]


def created(app, kind, saga_id):
    """The id of the record (order, booking, enrollment) a saga created, or None."""
    model = {"order": Order, "booking": Booking, "enrollment": Enrollment}[kind]
    with app.app_context():
        return db.session.execute(db.select(model.id).filter_by(saga_id=saga_id)).scalar_one_or_none()


def world(app):
    """Every record the sagas touch, as plain values: counters, statuses, money, messages."""
    with app.app_context():
        rows = lambda model: db.session.execute(db.select(model).order_by(model.id)).scalars().all()  # noqa: E731
        paid = {}
        for p in rows(Payment):
            if p.status == "CAPTURED":
                paid[p.subject] = paid.get(p.subject, 0) + p.amount_cents
        return {
            "slots": {s.id: (s.available, s.held, s.taken) for s in rows(Slot)},
            "courses": {c.id: (c.available, c.held, c.taken) for c in rows(Course)},
            "products": {p.id: (p.stock, p.reserved) for p in rows(Product)},
            "orders": {o.id: (o.status, o.quantity, o.amount_cents) for o in rows(Order)},
            "bookings": {b.id: (b.status, b.slot_id, b.price_cents) for b in rows(Booking)},
            "enrollments": {e.id: (e.status, e.course_id, e.price_cents) for e in rows(Enrollment)},
            "holds": [(h.saga_id, h.pool, h.pool_id, h.status) for h in rows(Hold)],
            "reservations": [(r.saga_id, r.product_id, r.quantity, r.status) for r in rows(Reservation)],
            "payments": [(p.saga_id, p.gateway, p.amount_cents, p.status) for p in rows(Payment)],
            "paid": paid,
            "notifications": [(n.saga_id, n.kind) for n in rows(Notification)],
        }


def saga_status(app, saga_id):
    """The saga's status."""
    with app.app_context():
        return db.session.get(Saga, saga_id).status
