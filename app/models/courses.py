"""Courses (each a pool of seats with a price) and enrollments in them."""
from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.domain import TimestampMixin
from app.models.places import CapacityMixin, PlaceMixin, capacity_checks


class Course(CapacityMixin, TimestampMixin, db.Model):
    """A course with a number of seats and a price per seat."""

    __tablename__ = "courses"
    __table_args__ = capacity_checks("courses")
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(120))


class Enrollment(PlaceMixin, TimestampMixin, db.Model):
    """A seat in a course: PENDING while its saga runs, ACTIVE, then maybe CANCELLED;
    CANCELLING or CHANGING while a later saga works on it."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_status_id", "status", "id"),
        # a student holds at most one live place per course, even when two sagas race for it
        Index("uq_enrollments_live_user_course", "user_id", "course_id", unique=True,
              sqlite_where=text("status != 'CANCELLED'"), postgresql_where=text("status != 'CANCELLED'")),
    )
    ACTIVE = "ACTIVE"
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
