"""Payments API: list and get."""
from flask_smorest import Blueprint

from app.api.schemas import PageArgs, PaymentOut
from app.api.common import found, page
from app.models import Payment

bp = Blueprint("payments", __name__, url_prefix="/api/payments", description="Payments")


@bp.route("")
@bp.arguments(PageArgs, location="query")
@bp.response(200, PaymentOut(many=True))
def list_payments(args):
    """List payments, newest first (keyset page: `before` = last id seen)."""
    return page(Payment, args)


@bp.route("/<int:payment_id>")
@bp.response(200, PaymentOut)
@bp.alt_response(404, description="No such payment")
def get_payment(payment_id):
    """Get one payment."""
    return found(Payment, payment_id, "payment")
