"""Demo data: a few users (one inactive), products with limited stock, bookable resources with
slots over the next days, and courses with a few seats."""
from datetime import datetime, time, timedelta

from app import clock
from app.extensions import db
from app.models import Course, Product, Resource, Slot, User

USERS = [
    ("Ada Lovelace", "ada@example.com", True),
    ("Alan Turing", "alan@example.com", True),
    ("Grace Hopper", "grace@example.com", True),
    ("Inactive Ivan", "ivan@example.com", False),
]
PRODUCTS = [
    ("KB-001", "Mechanical keyboard", 8_900, 25),
    ("MS-002", "Wireless mouse", 2_900, 50),
    ("MN-003", "27-inch monitor", 32_900, 10),
    ("HP-004", "Noise-cancelling headphones", 19_900, 5),
    ("GPU-005", "Graphics card (over the card limit)", 650_000, 3),
]
RESOURCES = [  # name, places per slot, price per place, hours (UTC) of the daily slots
    ("Meeting room", 1, 5_000, (9, 14)),
    ("Tennis court", 4, 2_500, (8, 12, 18)),
    ("Guided tour", 10, 1_500, (10,)),
]
SLOT_DAYS = 3
COURSES = [
    ("PY-101", "Python for beginners", 20, 19_900),
    ("SQL-201", "SQL in depth", 12, 29_900),
    ("ML-301", "Machine learning workshop", 2, 49_900),
    ("EX-900", "Executive programme (over the card limit)", 5, 650_000),
]


def seed():
    """Insert the demo rows that are missing; returns how many were added."""
    added = 0
    emails = set(db.session.execute(db.select(User.email)).scalars())
    skus = set(db.session.execute(db.select(Product.sku)).scalars())
    for name, email, active in USERS:
        if email not in emails:
            db.session.add(User(name=name, email=email, active=active))
            added += 1
    for sku, name, price, stock in PRODUCTS:
        if sku not in skus:
            db.session.add(Product(sku=sku, name=name, price_cents=price, stock=stock, reserved=0))
            added += 1
    added += _seed_courses() + _seed_slots()
    db.session.commit()
    return added


def _seed_courses():
    """Add the demo courses that are missing; returns how many were added."""
    codes = set(db.session.execute(db.select(Course.code)).scalars())
    missing = [Course(code=code, title=title, capacity=seats, available=seats, held=0, price_cents=price)
               for code, title, seats, price in COURSES if code not in codes]
    db.session.add_all(missing)
    return len(missing)


def _seed_slots():
    """Add the demo resources and their slots for the next days that are missing."""
    added = 0
    first_day = clock.now().date() + timedelta(days=1)
    for name, places, price, hours in RESOURCES:
        resource = db.session.execute(db.select(Resource).filter_by(name=name)).scalar_one_or_none()
        if resource is None:
            resource = Resource(name=name)
            db.session.add(resource)
            db.session.flush()
            added += 1
        starts = {datetime.combine(first_day + timedelta(days=day), time(hour))
                  for day in range(SLOT_DAYS) for hour in hours}
        taken = set(db.session.execute(db.select(Slot.starts_at).filter_by(resource_id=resource.id)).scalars())
        db.session.add_all(Slot(resource_id=resource.id, starts_at=start, capacity=places, available=places,
                                held=0, price_cents=price) for start in sorted(starts - taken))
        added += len(starts - taken)
    return added


def is_empty():
    """Whether the database has neither users nor products."""
    return db.session.execute(db.select(User.id).limit(1)).first() is None and \
        db.session.execute(db.select(Product.id).limit(1)).first() is None
