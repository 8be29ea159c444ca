"""Retention: finished sagas' history is deleted after a while, so the database stays bounded.

RQ's side is bounded by the job options: finished saga jobs keep no result (result_ttl=0) and
failed ones expire after SAGA_FAILURE_TTL.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga.states import TERMINAL_SAGA

BATCH = 500


def prune():
    """Delete old history in batches; returns {"events": n, "sagas": n} deleted."""
    removed = {"events": 0, "sagas": 0}
    history_days = current_app.config["SAGA_HISTORY_RETENTION_DAYS"]
    saga_days = current_app.config["SAGA_RETENTION_DAYS"]
    if history_days:
        for ids in _finished_before(history_days):
            removed["events"] += _delete(SagaEvent, SagaEvent.saga_id.in_(ids))
    if saga_days:
        for ids in _finished_before(saga_days):
            removed["events"] += _delete(SagaEvent, SagaEvent.saga_id.in_(ids))
            _delete(SagaStep, SagaStep.saga_id.in_(ids))
            removed["sagas"] += _delete(Saga, Saga.id.in_(ids))
    return removed


def _finished_before(days):
    """Batches of ids of sagas that ended more than `days` ago (uses the finished_at index)."""
    cutoff = clock.now() - timedelta(days=days)
    last = 0
    while True:
        ids = db.session.execute(
            db.select(Saga.id).where(Saga.finished_at < cutoff, Saga.status.in_(TERMINAL_SAGA),
                                     Saga.id > last).order_by(Saga.id).limit(BATCH)
        ).scalars().all()
        if not ids:
            return
        yield ids
        last = ids[-1]


def _delete(model, condition):
    """Delete matching rows in their own short transaction; returns how many."""
    count = db.session.execute(delete(model).where(condition)).rowcount
    db.session.commit()
    return count
