"""Courses: seats with a price, and the rule that a student takes a course at most once."""
from app.errors import Conflict
from app.extensions import db
from app.models import Course, Enrollment
from app.services import insert

class AlreadyEnrolled(Conflict):
    """The student already has a place in the course."""


def create_course(code, title, seats, price_cents):
    """Create a course with all its seats available; a taken code is a Conflict."""
    course = Course(code=code, title=title, capacity=seats, available=seats, held=0,
                    price_cents=price_cents)
    return insert(course, f"a course with code {code!r} already exists")


def require_not_enrolled(user_id, course_id):
    """Reject a second place for the same student in the same course."""
    taken = db.session.execute(
        db.select(Enrollment.id).filter(Enrollment.user_id == user_id,
                                        Enrollment.course_id == course_id,
                                        Enrollment.status != "CANCELLED").limit(1)
    ).first()
    if taken is not None:
        raise AlreadyEnrolled(f"user {user_id} is already enrolled in course {course_id} "
                              f"(enrollment {taken.id})")
