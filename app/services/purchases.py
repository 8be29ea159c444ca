"""What customers bought (orders, bookings, enrollments): created PENDING by a saga, then
active; a later saga claims one by a conditional update before changing or cancelling it."""
from sqlalchemy import update

from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Booking, Enrollment, Order

KINDS = {"order": Order, "booking": Booking, "enrollment": Enrollment}
CLAIMED = ("CANCELLING", "CHANGING")
FACTS = {
    "order": ("user_id", "product_id", "quantity", "amount_cents"),
    "booking": ("user_id", "slot_id", "price_cents"),
    "enrollment": ("user_id", "course_id", "price_cents"),
}


class NotChangeable(Conflict):
    """The record is not in a state that allows the change."""


def subject(kind, record_id):
    """What payments for a record are for, e.g. "booking:3"."""
    return f"{kind}:{record_id}"


def get_record(kind, record_id):
    """The order, booking or enrollment with this id, or NotFound."""
    record = db.session.get(KINDS[kind], record_id)
    if record is None:
        raise NotFound(f"{kind} {record_id} does not exist")
    return record


def require_active(kind, record_id):
    """The record, if it is active (CONFIRMED, or ACTIVE for an enrollment): only then can a saga
    change or cancel it."""
    record = get_record(kind, record_id)
    if record.status != record.ACTIVE:
        raise NotChangeable(f"{kind} {record_id} is {record.status}, not {record.ACTIVE}")
    return record


def require_new_quantity(order, quantity):
    """A quantity change must change the quantity."""
    if order.quantity == quantity:
        raise Conflict(f"order {order.id} already has {quantity} unit(s)")


def for_saga(kind, saga_id):
    """The record a saga created, if any."""
    return db.session.execute(db.select(KINDS[kind]).filter_by(saga_id=saga_id)).scalar_one_or_none()


def create_record(kind, saga_id, **values):
    """Create the saga's record, PENDING; a re-run returns the existing one."""
    record = for_saga(kind, saga_id)
    if record is None:
        record = KINDS[kind](saga_id=saga_id, status="PENDING", **values)
        db.session.add(record)
        db.session.flush()
    return record


def confirm_record(kind, saga_id):
    """Make the saga's pending record active (CONFIRMED, or ACTIVE for an enrollment)."""
    model = KINDS[kind]
    return _move(model, model.saga_id == saga_id, "PENDING", status=model.ACTIVE)


def drop_record(kind, saga_id):
    """Cancel the saga's pending record; a no-op when there is none or it is already cancelled."""
    model = KINDS[kind]
    return _move(model, model.saga_id == saga_id, "PENDING", status="CANCELLED")


def claim(kind, record_id, saga_id, status):
    """Claim an active record for this saga (status CANCELLING or CHANGING), or reject the change."""
    model = KINDS[kind]
    _move(model, model.id == record_id, model.ACTIVE, status=status, change_saga_id=saga_id)
    record = get_record(kind, record_id)
    if record.status != status or record.change_saga_id != saga_id:
        raise NotChangeable(f"{kind} {record_id} is {record.status}, not {model.ACTIVE}")
    return {"record_id": record.id, "subject": subject(kind, record.id),
            **{name: getattr(record, name) for name in FACTS[kind]}}


def end_claim(kind, record_id, saga_id, status):
    """Move a record this saga claimed to its next status; a no-op once it has moved."""
    model = KINDS[kind]
    where = (model.id == record_id) & (model.change_saga_id == saga_id)
    return _move(model, where, CLAIMED, status=status)


def amend(kind, record_id, saga_id, **values):
    """Change the fields of a record this saga has claimed for a change."""
    model = KINDS[kind]
    where = (model.id == record_id) & (model.change_saga_id == saga_id)
    if not _move(model, where, ("CHANGING",), **values):
        raise NotChangeable(f"{kind} {record_id} is not being changed by saga {saga_id}")


def _move(model, where, source, **values):
    """Update the records matching `where` whose status is in `source`; whether one changed."""
    statuses = (source,) if isinstance(source, str) else source
    return db.session.execute(
        update(model).where(where, model.status.in_(statuses)).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
