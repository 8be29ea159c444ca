"""Orders API: placing an order starts an order-placement saga."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.schemas import OrderIn, OrderOut, PageArgs
from app.api.common import found, page, saga_starter, start
from app.models import Order

bp = Blueprint("orders", __name__, url_prefix="/api/orders", description="Orders")


@bp.route("")
class Orders(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, OrderOut(many=True))
    def get(self, args):
        """List orders, newest first (keyset page: `before` = last id seen)."""
        return page(Order, args)

    @saga_starter(bp, OrderIn)
    def post(self, order, idempotency_key=None):
        """Place an order: starts the order-placement saga and answers at once."""
        return start("order_placement", order, idempotency_key)


@bp.route("/<int:order_id>")
@bp.response(200, OrderOut)
@bp.alt_response(404, description="No such order")
def get_order(order_id):
    """Get one order; its saga is at /api/sagas/<saga_id>."""
    return found(Order, order_id, "order")
