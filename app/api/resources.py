"""Bookable resources and their time slots: list, create, get."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import call_service
from app.api.place_schemas import ResourceIn, ResourceOut, SlotIn, SlotOut
from app.api.schemas import PageArgs
from app.api.common import found, page
from app.models import Resource, Slot
from app.services import bookings

bp = Blueprint("resources", __name__, url_prefix="/api", description="Bookable resources and their slots")


@bp.route("/resources")
class Resources(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, ResourceOut(many=True))
    def get(self, args):
        """List resources, newest first (keyset page: `before` = last id seen)."""
        return page(Resource, args)

    @bp.arguments(ResourceIn)
    @bp.response(201, ResourceOut)
    @bp.alt_response(409, description="Name already taken")
    def post(self, data):
        """Create a bookable resource."""
        return call_service(bookings.create_resource, data["name"])


@bp.route("/resources/<int:resource_id>")
@bp.response(200, ResourceOut)
@bp.alt_response(404, description="No such resource")
def get_resource(resource_id):
    """Get one resource."""
    return found(Resource, resource_id, "resource")


@bp.route("/resources/<int:resource_id>/slots")
class Slots(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, SlotOut(many=True))
    @bp.alt_response(404, description="No such resource")
    def get(self, args, resource_id):
        """List a resource's slots, newest first, with their places."""
        found(Resource, resource_id, "resource")
        return page(Slot, args, (Slot.resource_id == resource_id,))

    @bp.arguments(SlotIn)
    @bp.response(201, SlotOut)
    @bp.alt_response(404, description="No such resource")
    @bp.alt_response(409, description="The resource already has a slot at that time")
    def post(self, data, resource_id):
        """Open a slot of a resource, with its places all available."""
        found(Resource, resource_id, "resource")
        return call_service(bookings.create_slot, resource_id, data["starts_at"], data["places"],
                            data["price_cents"])


@bp.route("/slots/<int:slot_id>")
@bp.response(200, SlotOut)
@bp.alt_response(404, description="No such slot")
def get_slot(slot_id):
    """Get one slot: places available, held and taken."""
    return found(Slot, slot_id, "slot")
