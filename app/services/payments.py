"""Payments: at most one capture per saga, refunded at most once."""
from sqlalchemy import update

from app.extensions import db
from app.models import Payment
from app.services.gateways import PaymentDeclined, gateway


def capture_payment(saga_id, order_id, amount_cents, gateway_name="primary"):
    """Capture the saga's payment through a gateway; a re-run returns the existing capture."""
    existing = captured_payment(saga_id)
    if existing is not None:
        return existing
    try:
        reference = gateway(gateway_name).capture(amount_cents, f"saga-{saga_id}")
    except PaymentDeclined as exc:
        _record_decline(saga_id, order_id, amount_cents, gateway_name, str(exc))
        raise
    payment = Payment(saga_id=saga_id, order_id=order_id, amount_cents=amount_cents,
                      gateway=gateway_name, reference=reference, status="CAPTURED")
    db.session.add(payment)
    db.session.flush()
    return payment


def refund_payment(saga_id):
    """Refund the saga's captured payment; a no-op when nothing was captured or it was refunded."""
    payment = captured_payment(saga_id)
    if payment is None:
        return None
    gateway(payment.gateway).refund(payment.reference, payment.amount_cents)
    db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "CAPTURED")
        .values(status="REFUNDED").execution_options(synchronize_session=False)
    )
    return payment


def captured_payment(saga_id):
    """The saga's captured (not refunded) payment, if any."""
    return db.session.execute(
        db.select(Payment).filter_by(saga_id=saga_id, status="CAPTURED")
    ).scalar_one_or_none()


def _record_decline(saga_id, order_id, amount_cents, gateway_name, reason):
    """Keep a declined charge on record; it is committed on its own so it survives the failure."""
    exists = db.session.execute(
        db.select(Payment.id).filter_by(saga_id=saga_id, gateway=gateway_name)
    ).first()
    if exists is None:
        db.session.add(Payment(saga_id=saga_id, order_id=order_id, amount_cents=amount_cents,
                               gateway=gateway_name, status="DECLINED", error=reason))
        db.session.commit()
