"""Users: who may place orders."""
from app.errors import NotFound, PermanentError
from app.extensions import db
from app.models import User
from app.services import insert


class UserRejected(PermanentError):
    """The user may not place orders (unknown or inactive)."""


def create_user(name, email, active=True):
    """Create a user; a taken email is a Conflict."""
    return insert(User(name=name, email=email.lower(), active=active),
                  f"a user with email {email!r} already exists")


def get_user(user_id):
    """The user with this id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def require_active_user(user_id):
    """The user, if it exists and is active; otherwise the saga cannot go on."""
    user = db.session.get(User, user_id)
    if user is None:
        raise UserRejected(f"user {user_id} does not exist")
    if not user.active:
        raise UserRejected(f"user {user_id} is not active")
    return user
