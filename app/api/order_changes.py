"""Changing confirmed orders: cancelling one (with a refund) or changing its quantity, each a saga."""
from flask_smorest import Blueprint

from app.api.place_schemas import OrderCancelIn, OrderQuantityIn
from app.api.common import saga_starter, start
from app.services import purchases

bp = Blueprint("order_changes", __name__, url_prefix="/api/orders",
               description="Cancel a confirmed order or change its quantity")


@bp.route("/<int:order_id>/cancel", methods=["POST"])
@saga_starter(bp, OrderCancelIn)
@bp.alt_response(404, description="No such order")
def cancel_order(body, order_id, idempotency_key=None):
    """Cancel a confirmed order: starts an order-cancellation saga (full refund, restock)."""
    return start("order_cancellation", {"order_id": order_id, **body}, idempotency_key,
                 lambda: purchases.require_active("order", order_id))


@bp.route("/<int:order_id>/quantity", methods=["POST"])
@saga_starter(bp, OrderQuantityIn)
@bp.alt_response(404, description="No such order")
def change_quantity(body, order_id, idempotency_key=None):
    """Change a confirmed order's quantity: starts an order-update saga (stock and difference)."""
    def check():
        purchases.require_new_quantity(purchases.require_active("order", order_id), body["quantity"])
    return start("order_update", {"order_id": order_id, **body}, idempotency_key, check)
