"""Enrollments API: enrolling, cancelling or transferring an enrollment each start a saga."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.place_schemas import EnrollmentCancelIn, EnrollmentIn, EnrollmentOut, EnrollmentTransferIn
from app.api.schemas import PageArgs
from app.api.common import found, page, saga_starter, start
from app.models import Enrollment
from app.services import courses, purchases

bp = Blueprint("enrollments", __name__, url_prefix="/api/enrollments", description="Enrollments in courses")


@bp.route("")
class Enrollments(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, EnrollmentOut(many=True))
    def get(self, args):
        """List enrollments, newest first (keyset page: `before` = last id seen)."""
        return page(Enrollment, args)

    @saga_starter(bp, EnrollmentIn)
    def post(self, body, idempotency_key=None):
        """Enroll a student in a course: starts an enrollment saga and answers at once."""
        return start("enrollment", body, idempotency_key,
                     lambda: courses.require_not_enrolled(body["user_id"], body["course_id"]))


@bp.route("/<int:enrollment_id>")
@bp.response(200, EnrollmentOut)
@bp.alt_response(404, description="No such enrollment")
def get_enrollment(enrollment_id):
    """Get one enrollment; its saga is at /api/sagas/<saga_id>."""
    return found(Enrollment, enrollment_id, "enrollment")


@bp.route("/<int:enrollment_id>/cancel", methods=["POST"])
@saga_starter(bp, EnrollmentCancelIn)
@bp.alt_response(404, description="No such enrollment")
def cancel_enrollment(body, enrollment_id, idempotency_key=None):
    """Cancel an active enrollment: starts an enrollment-cancellation saga (full refund)."""
    return start("enrollment_cancellation", {"enrollment_id": enrollment_id, **body}, idempotency_key,
                 lambda: purchases.require_active("enrollment", enrollment_id))


@bp.route("/<int:enrollment_id>/transfer", methods=["POST"])
@saga_starter(bp, EnrollmentTransferIn)
@bp.alt_response(404, description="No such enrollment")
def transfer_enrollment(body, enrollment_id, idempotency_key=None):
    """Transfer an active enrollment to another course: starts an enrollment-transfer saga."""
    def check():
        enrollment = purchases.require_active("enrollment", enrollment_id)
        courses.require_not_enrolled(enrollment.user_id, body["course_id"])
    return start("enrollment_transfer", {"enrollment_id": enrollment_id, **body}, idempotency_key, check)
