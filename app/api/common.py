"""What the API endpoints share: starting sagas (Idempotency-Key, answers, checks), lookups, pages."""
import marshmallow as ma
from flask import url_for
from flask_smorest import abort

from app.api import call_service
from app.api.saga_schemas import SagaAccepted
from app.extensions import db
from app.saga.submission import find_by_idempotency_key, submit


class IdempotencyHeader(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", validate=ma.validate.Length(1, 128),
        metadata={"description": "Repeat a submission safely: the same key returns the same saga"})


def saga_starter(bp, schema):
    """Decorate a view that starts a saga: its body, the Idempotency-Key and the answers it gives."""
    decorators = (
        bp.arguments(IdempotencyHeader, location="headers", as_kwargs=True),
        bp.arguments(schema),
        bp.response(202, SagaAccepted, description="Saga started; follow it at `url`"),
        bp.alt_response(200, schema=SagaAccepted, description="Same Idempotency-Key: the saga already started"),
        bp.alt_response(409, description="Wrong state, or Idempotency-Key reused for a different request"),
    )

    def decorate(view):
        for decorator in reversed(decorators):
            view = decorator(view)
        return view
    return decorate


def start(saga_type, payload, idempotency_key=None, check=None):
    """Start a saga (or find the one this key started): 202, or 200 on a replay.

    `check` runs first, except on a replay: it rejects a request the current state forbids.
    """
    if check is not None and not (idempotency_key and find_by_idempotency_key(idempotency_key)):
        call_service(check)
    saga, created = call_service(submit, saga_type, payload, idempotency_key)
    url = url_for("sagas.get_saga", saga_id=saga.id)
    body = {"saga_id": saga.id, "status": saga.status, "url": url}
    return body, 202 if created else 200, {"Location": url}


def found(model, record_id, noun):
    """The record with this id, or a 404."""
    record = db.session.get(model, record_id)
    if record is None:
        abort(404, message=f"{noun} {record_id} does not exist")
    return record


def page(model, args, where=()):
    """A keyset page of records, newest first (`before` = the last id seen)."""
    query = db.select(model).where(*where).order_by(model.id.desc()).limit(args["limit"])
    if args.get("before"):
        query = query.where(model.id < args["before"])
    return db.session.execute(query).scalars()

