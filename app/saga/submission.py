"""Starting sagas, idempotently: one key, one saga, whatever the number of submissions."""
import hashlib
import json
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import clock
from app.errors import Conflict
from app.extensions import db
from app.models import Saga, SagaStep
from app.saga import dispatch
from app.saga.definition import get_definition
from app.saga.journal import record
from app.saga.states import SagaStatus as S


def submit(saga_type, payload, idempotency_key=None):
    """Start a saga, or return the one already started under this idempotency key.

    Returns (saga, created). Reusing a key for a different request is a Conflict.
    """
    fingerprint = request_fingerprint(saga_type, payload)
    saga, created = start_saga(saga_type, payload, idempotency_key, fingerprint)
    if not created and saga.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was already used for a different request")
    return saga, created


def start_saga(saga_type, payload, idempotency_key=None, request_hash=None):
    """Create a saga with its steps and enqueue the first one; returns (saga, created)."""
    definition = get_definition(saga_type)
    if idempotency_key and (existing := find_by_idempotency_key(idempotency_key)):
        return existing, False
    now = clock.now()
    saga = Saga(type=saga_type, payload=payload, step_count=len(definition.steps),
                idempotency_key=idempotency_key, request_hash=request_hash, created_at=now,
                deadline_at=now + timedelta(seconds=current_app.config["SAGA_TIMEOUT"]))
    try:
        db.session.add(saga)
        db.session.flush()
        steps = [SagaStep(saga_id=saga.id, index=i, name=step.name, attempts=0,
                          timeout_seconds=step.timeout_seconds())
                 for i, step in enumerate(definition.steps)]
        db.session.add_all(steps)
        record(saga, "saga.created", to_status=S.PENDING.value)
        dispatch.request_step(saga, 0, 1)
        dispatch.commit()
    except IntegrityError:
        dispatch.rollback()
        if idempotency_key and (existing := find_by_idempotency_key(idempotency_key)):
            return existing, False
        raise
    return saga, True


def find_by_idempotency_key(key):
    """The saga submitted under an idempotency key, if any."""
    return db.session.execute(db.select(Saga).filter_by(idempotency_key=key)).scalar_one_or_none()


def request_fingerprint(saga_type, payload):
    """A stable hash of what was asked for."""
    canonical = json.dumps({"type": saga_type, "payload": payload}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
