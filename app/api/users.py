"""Users API: list, create, get."""
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api import service_error
from app.api.schemas import PageArgs, UserIn, UserOut
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import User
from app.services import users

bp = Blueprint("users", __name__, url_prefix="/api/users", description="Customers")


@bp.route("")
class Users(MethodView):
    @bp.arguments(PageArgs, location="query")
    @bp.response(200, UserOut(many=True))
    def get(self, args):
        """List users, newest first (keyset page: `before` = last id seen)."""
        query = db.select(User).order_by(User.id.desc()).limit(args["limit"])
        if args.get("before"):
            query = query.where(User.id < args["before"])
        return db.session.execute(query).scalars()

    @bp.arguments(UserIn)
    @bp.response(201, UserOut)
    @bp.alt_response(409, description="Email already taken")
    def post(self, data):
        """Create a user."""
        try:
            return users.create_user(**data)
        except Conflict as exc:
            service_error(exc)


@bp.route("/<int:user_id>")
@bp.response(200, UserOut)
@bp.alt_response(404, description="No such user")
def get_user(user_id):
    """Get one user."""
    try:
        return users.get_user(user_id)
    except NotFound as exc:
        service_error(exc)
