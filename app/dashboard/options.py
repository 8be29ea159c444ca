"""What the forms' selects offer: customers, products, open slots and courses (the first few hundred)."""
from app import clock
from app.dashboard.filters import money
from app.dashboard.forms import choice
from app.extensions import db
from app.models import Course, Product, Resource, Slot, User

LIMIT = 500


def users():
    """Customers, the inactive ones marked (ValidateUser rejects them, which is worth watching)."""
    rows = db.session.execute(db.select(User).order_by(User.id).limit(LIMIT)).scalars()
    return [choice(u.id, f"{u.name} <{u.email}>" + ("" if u.active else " (inactive)")) for u in rows]


def products():
    """Products with their price and stock."""
    rows = db.session.execute(db.select(Product).order_by(Product.id).limit(LIMIT)).scalars()
    return [choice(p.id, f"{p.name} — {money(p.price_cents)}, {p.stock} in stock") for p in rows]


def open_slots():
    """Slots that have not started, soonest first, with their resource, price and free places."""
    rows = db.session.execute(
        db.select(Slot, Resource.name).join(Resource, Slot.resource_id == Resource.id)
        .where(Slot.starts_at > clock.now()).order_by(Slot.starts_at, Slot.id).limit(LIMIT)).all()
    return [choice(slot.id, f"{resource}, {slot.starts_at:%a %d %b %H:%M} — {money(slot.price_cents)}, "
                            f"{slot.available} of {slot.capacity} free") for slot, resource in rows]


def courses():
    """Courses with their price and free seats."""
    rows = db.session.execute(db.select(Course).order_by(Course.id).limit(LIMIT)).scalars()
    return [choice(c.id, f"{c.code} {c.title} — {money(c.price_cents)}, {c.available} of {c.capacity} free")
            for c in rows]
