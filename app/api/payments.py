"""Payments API: list and get."""
from flask_smorest import Blueprint, abort

from app.api.schemas import PageArgs, PaymentOut
from app.extensions import db
from app.models import Payment

bp = Blueprint("payments", __name__, url_prefix="/api/payments", description="Payments")


@bp.route("")
@bp.arguments(PageArgs, location="query")
@bp.response(200, PaymentOut(many=True))
def list_payments(args):
    """List payments, newest first (keyset page: `before` = last id seen)."""
    query = db.select(Payment).order_by(Payment.id.desc()).limit(args["limit"])
    if args.get("before"):
        query = query.where(Payment.id < args["before"])
    return db.session.execute(query).scalars()


@bp.route("/<int:payment_id>")
@bp.response(200, PaymentOut)
@bp.alt_response(404, description="No such payment")
def get_payment(payment_id):
    """Get one payment."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        abort(404, message=f"payment {payment_id} does not exist")
    return payment
