"""Courses API: list, create, get; each shows its seats available, held and taken."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import call_service
from app.api.place_schemas import CourseIn, CourseOut
from app.api.schemas import PageArgs
from app.api.common import found, page
from app.models import Course
from app.services import courses

bp = Blueprint("courses", __name__, url_prefix="/api/courses", description="Courses and their seats")


@bp.route("")
class Courses(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, CourseOut(many=True))
    def get(self, args):
        """List courses, newest first (keyset page: `before` = last id seen)."""
        return page(Course, args)

    @bp.arguments(CourseIn)
    @bp.response(201, CourseOut)
    @bp.alt_response(409, description="Code already taken")
    def post(self, data):
        """Create a course with all its seats available."""
        return call_service(courses.create_course, **data)


@bp.route("/<int:course_id>")
@bp.response(200, CourseOut)
@bp.alt_response(404, description="No such course")
def get_course(course_id):
    """Get one course."""
    return found(Course, course_id, "course")
