"""Payments: at most one money movement per saga and gateway, each undone at most once.

A movement is for a subject ("order:3", "booking:5"); money paid back is a negative amount, so
the CAPTURED amounts of a subject add up to what the customer has paid for it.
"""
from sqlalchemy import func, update

from app.errors import PermanentError
from app.extensions import db
from app.models import Payment
from app.services.gateways import PaymentDeclined, gateway


def capture_payment(saga_id, order_id, amount_cents, gateway_name="primary"):
    """Capture the saga's payment through a gateway; a re-run returns the existing capture."""
    return charge(saga_id, f"order:{order_id}", amount_cents, gateway_name, order_id)


def charge(saga_id, subject, amount_cents, gateway_name="primary", order_id=None):
    """Capture money for a subject through a gateway; a re-run returns the saga's capture."""
    existing = captured_payment(saga_id)
    if existing is not None:
        return existing
    try:
        reference = gateway(gateway_name).capture(amount_cents, f"saga-{saga_id}")
    except PaymentDeclined as exc:
        _record_decline(saga_id, subject, order_id, amount_cents, gateway_name, str(exc))
        raise
    return _record(saga_id, subject, order_id, amount_cents, gateway_name, reference)


def settle_to(saga_id, subject, amount_cents, gateway_name="primary", order_id=None):
    """Charge or pay back the difference so that the customer has paid exactly `amount_cents`
    for the subject (0 refunds everything); a re-run returns the saga's movement."""
    existing = captured_payment(saga_id)
    if existing is not None:
        return existing
    difference = amount_cents - paid_for(subject)
    if difference > 0:
        return charge(saga_id, subject, difference, gateway_name, order_id)
    if difference == 0:
        return None
    original = _latest_charge(subject)
    if original is None:
        raise PermanentError(f"nothing was captured for {subject} to pay back")
    gateway(original.gateway).refund(original.reference, -difference)
    return _record(saga_id, subject, order_id, difference, original.gateway, original.reference)


def paid_for(subject):
    """What the customer has paid for a subject: its captured amounts, net of money paid back."""
    return db.session.execute(
        db.select(func.coalesce(func.sum(Payment.amount_cents), 0))
        .where(Payment.subject == subject, Payment.status == "CAPTURED")
    ).scalar_one()


def refund_payment(saga_id):
    """Refund the saga's captured payment; a no-op when nothing was captured or it was refunded."""
    payment = captured_payment(saga_id)
    if payment is None:
        return None
    gateway(payment.gateway).refund(payment.reference, payment.amount_cents)
    return _mark(payment, "REFUNDED")


def reverse_payment(saga_id):
    """Undo the saga's money movement: refund what it charged, take back what it paid back."""
    payment = captured_payment(saga_id)
    if payment is None or payment.amount_cents >= 0:
        return refund_payment(saga_id)
    gateway(payment.gateway).capture(-payment.amount_cents, f"saga-{saga_id}-reversal")
    return _mark(payment, "REVERSED")


def captured_payment(saga_id):
    """The saga's captured (not refunded) payment, if any."""
    return db.session.execute(
        db.select(Payment).filter_by(saga_id=saga_id, status="CAPTURED")
    ).scalar_one_or_none()


def _record(saga_id, subject, order_id, amount_cents, gateway_name, reference):
    """Keep a money movement on record, CAPTURED."""
    payment = Payment(saga_id=saga_id, subject=subject, order_id=order_id, amount_cents=amount_cents,
                      gateway=gateway_name, reference=reference, status="CAPTURED")
    db.session.add(payment)
    db.session.flush()
    return payment


def _mark(payment, status):
    """Move a CAPTURED movement to REFUNDED or REVERSED, once."""
    db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == "CAPTURED")
        .values(status=status).execution_options(synchronize_session=False)
    )
    return payment


def _latest_charge(subject):
    """The subject's most recent charge that stands: refunds go back the way it came."""
    return db.session.execute(
        db.select(Payment).where(Payment.subject == subject, Payment.status == "CAPTURED",
                                 Payment.amount_cents > 0).order_by(Payment.id.desc()).limit(1)
    ).scalar_one_or_none()


def _record_decline(saga_id, subject, order_id, amount_cents, gateway_name, reason):
    """Keep a declined charge on record; it is committed on its own so it survives the failure."""
    exists = db.session.execute(
        db.select(Payment.id).filter_by(saga_id=saga_id, gateway=gateway_name)
    ).first()
    if exists is None:
        db.session.add(Payment(saga_id=saga_id, subject=subject, order_id=order_id,
                               amount_cents=amount_cents, gateway=gateway_name, status="DECLINED",
                               error=reason))
        db.session.commit()
