"""Products API: list, create, get; each shows its stock and reserved units."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import call_service
from app.api.schemas import PageArgs, ProductIn, ProductOut
from app.api.common import found, page
from app.models import Product
from app.services import inventory

bp = Blueprint("products", __name__, url_prefix="/api/products", description="Products and stock")


@bp.route("")
class Products(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, ProductOut(many=True))
    def get(self, args):
        """List products (keyset page: `before` = last id seen)."""
        return page(Product, args)

    @bp.arguments(ProductIn)
    @bp.response(201, ProductOut)
    @bp.alt_response(409, description="SKU already taken")
    def post(self, data):
        """Create a product with its initial stock."""
        return call_service(inventory.create_product, **data)


@bp.route("/<int:product_id>")
@bp.response(200, ProductOut)
@bp.alt_response(404, description="No such product")
def get_product(product_id):
    """Get one product."""
    return found(Product, product_id, "product")
