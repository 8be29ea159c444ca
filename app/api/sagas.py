"""Sagas API: list with filters and keyset pages; detail with every attempt and event."""
from flask_smorest import Blueprint

from app import auth
from app.api import call_service
from app.api.saga_schemas import OperatorActionIn, ResolveIn, SagaDetail, SagaPage
from app.api.schemas import SagaListArgs
from app.api.common import found
from app.models import Saga
from app.saga import operator, queries

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
    return queries.saga_detail(found(Saga, saga_id, "saga"))


def _act(action, saga_id, *args, operator, reason):
    """Run an operator action as the signed-in operator (or the one named), answer with the saga."""
    saga = call_service(action, saga_id, *args, auth.operator_name() or operator, reason)
    return queries.saga_detail(saga)


@bp.route("/<int:saga_id>/cancel", methods=["POST"])
@bp.arguments(OperatorActionIn)
@bp.response(200, SagaDetail)
@bp.alt_response(404, description="No such saga")
@bp.alt_response(409, description="The saga is not pending or running")
def cancel_saga(body, saga_id):
    """Cancel a pending or running saga: its completed steps are compensated."""
    return _act(operator.cancel, saga_id, **body)


@bp.route("/<int:saga_id>/retry", methods=["POST"])
@bp.arguments(OperatorActionIn)
@bp.response(200, SagaDetail)
@bp.alt_response(404, description="No such saga")
@bp.alt_response(409, description="The saga is not FAILED")
def retry_saga(body, saga_id):
    """Retry a FAILED saga's failed compensations with a fresh set of attempts."""
    return _act(operator.retry_compensation, saga_id, **body)


@bp.route("/<int:saga_id>/steps/<int:step_index>/resolve", methods=["POST"])
@bp.arguments(ResolveIn)
@bp.response(200, SagaDetail)
@bp.alt_response(404, description="No such saga")
@bp.alt_response(409, description="The step is not waiting for an operator")
def resolve_step(body, saga_id, step_index):
    """Mark a step whose compensation failed as resolved by hand, with a reason."""
    return _act(operator.resolve, saga_id, step_index, **body)
