"""Business rules, one module per domain; every saga action and compensation is idempotent."""
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict
from app.extensions import db


def insert(record, conflict):
    """Add and commit a new record; a unique constraint it breaks is a Conflict with that message."""
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict) from None
    return record
