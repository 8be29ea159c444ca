"""Bookings API: booking a slot, cancelling or moving a booking each start a saga."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.place_schemas import BookingCancelIn, BookingIn, BookingMoveIn, BookingOut
from app.api.schemas import PageArgs
from app.api.common import found, page, saga_starter, start
from app.models import Booking
from app.services import bookings, purchases

bp = Blueprint("bookings", __name__, url_prefix="/api/bookings", description="Bookings of slots")


@bp.route("")
class Bookings(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, BookingOut(many=True))
    def get(self, args):
        """List bookings, newest first (keyset page: `before` = last id seen)."""
        return page(Booking, args)

    @saga_starter(bp, BookingIn)
    def post(self, body, idempotency_key=None):
        """Book a place in a slot: starts a booking saga and answers at once."""
        return start("booking", body, idempotency_key, lambda: bookings.open_slot(body["slot_id"]))


@bp.route("/<int:booking_id>")
@bp.response(200, BookingOut)
@bp.alt_response(404, description="No such booking")
def get_booking(booking_id):
    """Get one booking; its saga is at /api/sagas/<saga_id>."""
    return found(Booking, booking_id, "booking")


@bp.route("/<int:booking_id>/cancel", methods=["POST"])
@saga_starter(bp, BookingCancelIn)
@bp.alt_response(404, description="No such booking")
def cancel_booking(body, booking_id, idempotency_key=None):
    """Cancel a confirmed booking: starts a booking-cancellation saga (full refund)."""
    return start("booking_cancellation", {"booking_id": booking_id, **body}, idempotency_key,
                 lambda: purchases.require_active("booking", booking_id))


@bp.route("/<int:booking_id>/move", methods=["POST"])
@saga_starter(bp, BookingMoveIn)
@bp.alt_response(404, description="No such booking")
def move_booking(body, booking_id, idempotency_key=None):
    """Move a confirmed booking to another slot: starts a booking-modification saga."""
    def check():
        bookings.require_move(purchases.require_active("booking", booking_id), body["slot_id"])
    return start("booking_modification", {"booking_id": booking_id, **body}, idempotency_key, check)
