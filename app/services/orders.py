"""Orders: created PENDING by a saga, then CONFIRMED when it completes or CANCELLED."""
from sqlalchemy import update

from app.extensions import db
from app.models import Order


def create_order(saga_id, user_id, product_id, quantity, amount_cents):
    """Create the saga's order, PENDING; a re-run returns the existing one."""
    order = order_for_saga(saga_id)
    if order is None:
        order = Order(saga_id=saga_id, user_id=user_id, product_id=product_id, quantity=quantity,
                      amount_cents=amount_cents, status="PENDING")
        db.session.add(order)
        db.session.flush()
    return order


def cancel_order(saga_id):
    """Cancel the saga's pending order; a no-op when there is none or it is already cancelled."""
    return _move(saga_id, "PENDING", "CANCELLED")


def confirm_order(saga_id):
    """Confirm the saga's pending order."""
    return _move(saga_id, "PENDING", "CONFIRMED")


def order_for_saga(saga_id):
    """The order a saga created, if any."""
    return db.session.execute(db.select(Order).filter_by(saga_id=saga_id)).scalar_one_or_none()


def _move(saga_id, source, target):
    """Move the saga's order from one status to another, only if it is in `source`."""
    changed = db.session.execute(
        update(Order).where(Order.saga_id == saga_id, Order.status == source).values(status=target)
        .execution_options(synchronize_session=False)
    ).rowcount
    return changed == 1
