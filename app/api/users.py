"""Users API: list, create, get."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import call_service
from app.api.schemas import PageArgs, UserIn, UserOut
from app.api.common import found, page
from app.models import User
from app.services import users

bp = Blueprint("users", __name__, url_prefix="/api/users", description="Customers")


@bp.route("")
class Users(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, UserOut(many=True))
    def get(self, args):
        """List users, newest first (keyset page: `before` = last id seen)."""
        return page(User, args)

    @bp.arguments(UserIn)
    @bp.response(201, UserOut)
    @bp.alt_response(409, description="Email already taken")
    def post(self, data):
        """Create a user."""
        return call_service(users.create_user, **data)


@bp.route("/<int:user_id>")
@bp.response(200, UserOut)
@bp.alt_response(404, description="No such user")
def get_user(user_id):
    """Get one user."""
    return found(User, user_id, "user")
