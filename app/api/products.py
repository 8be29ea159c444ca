"""Products API: list, create, get; each shows its stock and reserved units."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import service_error
from app.api.schemas import PageArgs, ProductIn, ProductOut
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Product
from app.services import inventory

bp = Blueprint("products", __name__, url_prefix="/api/products", description="Products and stock")


@bp.route("")
class Products(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, ProductOut(many=True))
    def get(self, args):
        """List products (keyset page: `before` = last id seen)."""
        query = db.select(Product).order_by(Product.id.desc()).limit(args["limit"])
        if args.get("before"):
            query = query.where(Product.id < args["before"])
        return db.session.execute(query).scalars()

    @bp.arguments(ProductIn)
    @bp.response(201, ProductOut)
    @bp.alt_response(409, description="SKU already taken")
    def post(self, data):
        """Create a product with its initial stock."""
        try:
            return inventory.create_product(**data)
        except Conflict as exc:
            service_error(exc)


@bp.route("/<int:product_id>")
@bp.response(200, ProductOut)
@bp.alt_response(404, description="No such product")
def get_product(product_id):
    """Get one product."""
    try:
        return inventory.get_product(product_id)
    except NotFound as exc:
        service_error(exc)
