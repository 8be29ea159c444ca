"""Places sold by capacity: resources with their slots, bookings, courses, enrollments; and the
record a change or cancellation form is about."""
from sqlalchemy import func

from app import clock
from app.dashboard import bp
from app.dashboard.domain import page_of, purchase_list, record_list
from app.dashboard.filters import money
from app.extensions import db
from app.models import Booking, Course, Enrollment, Product, Resource, Slot, User


@bp.get("/resources")
def resources():
    """Bookable resources with their slots to come: places free, held by running sagas, taken; price."""
    rows, cursor = page_of(db.select(Resource), Resource)
    slots, past = _slots_of([resource.id for resource in rows])
    return record_list("resources", rows, cursor, any(slot.held for slots_of in slots.values() for slot in slots_of),
                       slots=slots, past=past)


@bp.get("/bookings")
def bookings():
    """Bookings with their customer, slot, price, status and sagas; a confirmed one can be cancelled or moved."""
    return purchase_list("bookings", Booking, db.select(Booking, User.name, Resource.name, Slot.starts_at)
                         .join(Slot, Booking.slot_id == Slot.id).join(Resource, Slot.resource_id == Resource.id))


@bp.get("/courses")
def courses():
    """Courses with their seats free, held by running sagas and taken, and their price."""
    rows, cursor = page_of(db.select(Course), Course)
    return record_list("courses", rows, cursor, any(course.held for course in rows))


@bp.get("/enrollments")
def enrollments():
    """Enrollments with their student, course, price, status and sagas; an active one can be cancelled
    or transferred."""
    return purchase_list("enrollments", Enrollment, db.select(Enrollment, User.name, Course.code, Course.title)
                         .join(Course, Enrollment.course_id == Course.id))


def _slots_of(resource_ids):
    """{resource id: its slots to come, soonest first}, and how many each has in the past."""
    now = clock.now()
    slots = {resource_id: [] for resource_id in resource_ids}
    for slot in db.session.execute(db.select(Slot).where(Slot.resource_id.in_(resource_ids), Slot.starts_at > now)
                                   .order_by(Slot.starts_at, Slot.id)).scalars():
        slots[slot.resource_id].append(slot)
    past = dict(db.session.execute(
        db.select(Slot.resource_id, func.count()).where(Slot.resource_id.in_(resource_ids), Slot.starts_at <= now)
        .group_by(Slot.resource_id)).all())
    return slots, past


def describe(kind, record):
    """What a change form shows of the record it changes, as (label, value) pairs."""
    if record is None:
        return []
    facts = [("Customer", db.session.get(User, record.user_id).name)]
    if kind == "order":
        facts += [("Product", db.session.get(Product, record.product_id).name), ("Quantity", record.quantity)]
    elif kind == "booking":
        slot = db.session.get(Slot, record.slot_id)
        facts += [("Slot", f"{db.session.get(Resource, slot.resource_id).name}, {slot.starts_at:%a %d %b %H:%M}")]
    else:
        course = db.session.get(Course, record.course_id)
        facts += [("Course", f"{course.code} {course.title}")]
    return facts + [("Paid", money(record.amount_cents)), ("Status", record.status.lower())]
