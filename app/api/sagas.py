"""Sagas API: list with filters and keyset pages; detail with every attempt and event."""
from flask_smorest import Blueprint, abort

from app.api.saga_schemas import SagaDetail, SagaPage
from app.api.schemas import SagaListArgs
from app.extensions import db
from app.models import Saga
from app.saga import queries

bp = Blueprint("sagas", __name__, url_prefix="/api/sagas", description="Sagas and their history")


@bp.route("")
@bp.arguments(SagaListArgs, location="query")
@bp.response(200, SagaPage)
def list_sagas(args):
    """List sagas, newest first, filtered by status and type."""
    items, cursor = queries.list_sagas(args.get("status"), args.get("type"), args.get("before"),
                                       args["limit"])
    return {"items": items, "next_cursor": cursor}


@bp.route("/<int:saga_id>")
@bp.response(200, SagaDetail)
@bp.alt_response(404, description="No such saga")
def get_saga(saga_id):
    """One saga: its steps, each attempt of each step, and its event history."""
    saga = db.session.get(Saga, saga_id)
    if saga is None:
        abort(404, message=f"saga {saga_id} does not exist")
    return queries.saga_detail(saga)
