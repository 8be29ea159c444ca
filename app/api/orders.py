"""Orders API: placing an order starts an order-placement saga."""
import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from app.api import service_error
from app.api.saga_schemas import SagaAccepted
from app.api.schemas import OrderIn, OrderOut, PageArgs
from app.errors import Conflict
from app.extensions import db
from app.models import Order
from app.saga.submission import submit

bp = Blueprint("orders", __name__, url_prefix="/api/orders", description="Orders")


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", validate=ma.validate.Length(1, 128),
        metadata={"description": "Repeat a submission safely: the same key returns the same saga"})


@bp.route("")
class Orders(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, OrderOut(many=True))
    def get(self, args):
        """List orders, newest first (keyset page: `before` = last id seen)."""
        query = db.select(Order).order_by(Order.id.desc()).limit(args["limit"])
        if args.get("before"):
            query = query.where(Order.id < args["before"])
        return db.session.execute(query).scalars()

    @bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True)
    @bp.arguments(OrderIn)
    @bp.response(202, SagaAccepted, description="Saga started; follow it at `url`")
    @bp.alt_response(200, schema=SagaAccepted, description="Same Idempotency-Key: the saga already started")
    @bp.alt_response(409, description="Idempotency-Key reused for a different request")
    def post(self, order, idempotency_key=None):
        """Place an order: starts the order-placement saga and answers at once."""
        try:
            saga, created = submit("order_placement", order, idempotency_key)
        except Conflict as exc:
            service_error(exc)
        url = url_for("sagas.get_saga", saga_id=saga.id)
        body = {"saga_id": saga.id, "status": saga.status, "url": url}
        return body, 202 if created else 200, {"Location": url}


@bp.route("/<int:order_id>")
@bp.response(200, OrderOut)
@bp.alt_response(404, description="No such order")
def get_order(order_id):
    """Get one order; its saga is at /api/sagas/<saga_id>."""
    order = db.session.get(Order, order_id)
    if order is None:
        abort(404, message=f"order {order_id} does not exist")
    return order
