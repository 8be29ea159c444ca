"""Checked status changes that each append an event: the saga's audit history."""
import logging
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga.states import check_saga_move, check_step_move

log = logging.getLogger("app.saga")
LOG_KEY = "saga_log"


def lock_saga(saga_id):
    """Take the saga's write lock for this transaction and return it fresh (None if absent).

    The version bump is the transaction's first write: on PostgreSQL it locks the row, on SQLite
    it takes the database's write lock, so every later read in the transaction is current and
    two jobs of one saga never decide at the same time.
    """
    statement = update(Saga).where(Saga.id == saga_id).values(version=Saga.version + 1).returning(Saga)
    return db.session.execute(
        statement, execution_options={"populate_existing": True, "synchronize_session": False}
    ).scalar_one_or_none()


def load_step(saga_id, index):
    """The step at a position of a saga, fresh from the database."""
    return db.session.execute(
        db.select(SagaStep).where(SagaStep.saga_id == saga_id, SagaStep.index == index)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def claim_step(saga, index, claimable, target, counter, event_type):
    """Claim a step for one attempt: a conditional update that only one delivery can win.

    Returns the step, or None when it is not in a claimable status (another delivery of the
    same job got there first, or the saga moved on).
    """
    step = load_step(saga.id, index)
    if step is None or step.status not in claimable:
        return None
    check_step_move(step.status, target)
    source, now = step.status, clock.now()
    values = {"status": target.value, counter: getattr(step, counter) + 1,
              "started_at": now, "next_retry_at": None}
    changed = db.session.execute(
        update(SagaStep).where(SagaStep.id == step.id, SagaStep.status == source).values(values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return None
    for key, value in values.items():
        set_committed_value(step, key, value)
    record(saga, event_type, step=step, from_status=source, to_status=target.value,
           attempt=values[counter])
    return step


def move_saga(saga, target, event_type, **fields):
    """Move a saga to `target` (checked against the table) and record it."""
    check_saga_move(saga.status, target)
    source, saga.status = saga.status, target.value
    record(saga, event_type, from_status=source, to_status=saga.status, **fields)


def move_step(saga, step, target, event_type, **fields):
    """Move a step to `target` (checked against the table) and record it."""
    check_step_move(step.status, target)
    source, step.status = step.status, target.value
    record(saga, event_type, step=step, from_status=source, to_status=step.status, **fields)


def record(saga, event_type, step=None, **fields):
    """Append one event to the saga's history and log it once."""
    event = SagaEvent(
        saga_id=saga.id, type=event_type, created_at=clock.now(),
        step_index=step.index if step is not None else None,
        step_name=step.name if step is not None else None, **fields,
    )
    db.session.add(event)
    _log_after_commit(event_type, saga.id, saga.type, event.step_name, fields)
    return event


class EventRow(NamedTuple):
    """One event as the column values of a `saga_events` row, for a Core insert (the hot path)."""

    saga_id: int
    type: str
    created_at: datetime
    step_index: int | None = None
    step_name: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    attempt: int | None = None
    duration_ms: float | None = None
    error_type: str | None = None
    error: str | None = None
    actor: str = "orchestrator"
    detail: str | None = None


def log_rows(saga_type, rows):
    """Log events inserted as rows (call it once their transaction has committed)."""
    if not log.isEnabledFor(logging.INFO):
        return
    for row in rows:
        log.info("%s", row.type, extra=_log_fields(row.saga_id, saga_type, row.step_name, row._asdict()))


def _log_after_commit(event_type, saga_id, saga_type, step_name, fields):
    """Keep a transition's log line until its transaction commits."""
    db.session.info.setdefault(LOG_KEY, []).append((event_type, _log_fields(saga_id, saga_type, step_name, fields)))


def _log_fields(saga_id, saga_type, step_name, fields):
    """What a transition's log line carries."""
    return {"saga_id": saga_id, "saga_type": saga_type, "step": step_name, "attempt": fields.get("attempt"),
            "duration_ms": fields.get("duration_ms"), "error": fields.get("error"),
            "to_status": fields.get("to_status")}


def flush_log():
    """Log the transitions of the transaction that just committed, once each."""
    for event_type, fields in db.session.info.pop(LOG_KEY, []):
        log.info("%s", event_type, extra=fields)


def discard_log():
    """Forget the transitions of a transaction that rolled back: they never happened."""
    db.session.info.pop(LOG_KEY, None)
