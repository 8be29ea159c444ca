"""The common case in a few Core statements: a step claimed, run, and succeeded.

Most step jobs find their saga running, uncancelled and in time, claim the step, and succeed.
For them the orchestrator uses the prepared statements below instead of loading and flushing ORM
objects: a claim is two or three statements and a success three, each transaction still opening
with the write on the saga's row that serialises every decision about it (see `lock_saga`).

Anything else (a cancel request, a passed deadline, a failure, a fallback) returns None here and
takes the orchestrator's general path, which handles every case. Both paths make the same checked
moves and write the same events, so the history reads the same whichever ran.
"""
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, update

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga import dispatch
from app.saga.journal import event_row, log_rows
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T
from app.saga.states import check_saga_move, check_step_move

SAGAS, STEPS, EVENTS = Saga.__table__, SagaStep.__table__, SagaEvent.__table__
FORWARD = "forward"  # a claim this module cannot make: the general path decides


@dataclass(frozen=True)
class StepRun:
    """What one claimed attempt needs after its claim has committed."""

    saga_id: int
    saga_type: str
    index: int
    step_name: str
    attempt: int
    payload: dict
    using_fallback: bool
    variant_attempt: int


_LOCK = (update(SAGAS).where(SAGAS.c.id == bindparam("b_saga"))
         .values(version=SAGAS.c.version + 1, updated_at=bindparam("b_now"))
         .returning(SAGAS.c.type, SAGAS.c.status, SAGAS.c.current_step, SAGAS.c.cancel_requested,
                    SAGAS.c.deadline_at, SAGAS.c.payload))
_START = update(SAGAS).where(SAGAS.c.id == bindparam("b_saga")).values(status=S.RUNNING.value)
_CLAIM = (update(STEPS)
          .where(STEPS.c.saga_id == bindparam("b_saga"), STEPS.c.index == bindparam("b_index"),
                 STEPS.c.status.in_((T.PENDING.value, T.RETRYING.value)))
          .values(status=T.RUNNING.value, attempts=STEPS.c.attempts + 1, started_at=bindparam("b_now"),
                  next_retry_at=None)
          .returning(STEPS.c.name, STEPS.c.attempts, STEPS.c.fallback_from_attempt))
_EVENTS = insert(EVENTS)


def _advance(**values):
    """The success settle's opening write: lock the saga only while it is running as expected."""
    return (update(SAGAS)
            .where(SAGAS.c.id == bindparam("b_saga"), SAGAS.c.status == S.RUNNING.value,
                   SAGAS.c.current_step == bindparam("b_index"), SAGAS.c.cancel_requested.is_(False))
            .values(version=SAGAS.c.version + 1, updated_at=bindparam("b_now"), **values))


_TO_NEXT = _advance(current_step=bindparam("b_next"))
_TO_COMPLETION = _advance()  # the last step of a saga with an on_complete hook: its job completes it
_TO_COMPLETED = _advance(status=S.COMPLETED.value, finished_at=bindparam("b_now"))
_SUCCEED = (update(STEPS)
            .where(STEPS.c.saga_id == bindparam("b_saga"), STEPS.c.index == bindparam("b_index"),
                   STEPS.c.status == T.RUNNING.value, STEPS.c.attempts == bindparam("b_attempt"))
            .values(status=T.SUCCEEDED.value, finished_at=bindparam("b_now"), result=bindparam("b_result"),
                    error=None, error_type=None))
check_step_move(T.RUNNING, T.SUCCEEDED)  # the moves this module makes without asking the table each time
check_saga_move(S.RUNNING, S.COMPLETED)


def warm_up():
    """Compile the hot statements into the engine's cache; a forking worker does it before forking.

    SQLAlchemy caches a statement per shape of its parameters, so each runs here as the hot path
    runs it, on a stand-in saga inserted in a transaction that is then rolled back.
    """
    now = clock.now()
    with db.engine.connect() as connection:
        saga_id = connection.execute(insert(SAGAS).values(type="warm-up", payload={}, step_count=1, deadline_at=now)
                                     ).inserted_primary_key[0]
        connection.execute(insert(STEPS).values(saga_id=saga_id, index=0, name="warm-up", timeout_seconds=1))
        claim_params = {"b_saga": saga_id, "b_index": 0, "b_now": now}
        settle_params = {**claim_params, "b_next": 1}
        connection.execute(_LOCK, {"b_saga": saga_id, "b_now": now}).first()
        connection.execute(_CLAIM, claim_params).first()
        connection.execute(_START, {"b_saga": saga_id})
        event = event_row(saga_id, "warm-up", now)
        connection.execute(_EVENTS, [event])
        connection.execute(_EVENTS, [event, event])
        for statement in (_TO_NEXT, _TO_COMPLETION, _TO_COMPLETED):
            connection.execute(statement, settle_params)
        connection.execute(_SUCCEED, {**settle_params, "b_attempt": 1, "b_result": {}})
        connection.rollback()


def claim(saga_id, index):
    """Claim the step for one attempt and commit: a StepRun, None (not ours), or FORWARD."""
    now = clock.now()
    connection = db.session.connection()
    saga = connection.execute(_LOCK, {"b_saga": saga_id, "b_now": now}).first()
    if saga is None or saga.status not in (S.PENDING, S.RUNNING) or saga.current_step != index:
        return dispatch.rollback()  # finished, compensating, or a stray job for another step
    if saga.cancel_requested or now > saga.deadline_at:
        dispatch.rollback()
        return FORWARD
    step = connection.execute(_CLAIM, {"b_saga": saga_id, "b_index": index, "b_now": now}).first()
    if step is None:
        return dispatch.rollback()  # another delivery of this job claimed it first
    # Only a step's first attempt leaves PENDING; every later one leaves RETRYING (states.py).
    source = T.PENDING if step.attempts == 1 else T.RETRYING
    check_step_move(source, T.RUNNING)
    events = [event_row(saga_id, "step.started", now, index, step.name, attempt=step.attempts,
                        from_status=source.value, to_status=T.RUNNING.value)]
    if saga.status == S.PENDING:
        connection.execute(_START, {"b_saga": saga_id})
        events.append(event_row(saga_id, "saga.started", now, from_status=S.PENDING.value,
                                to_status=S.RUNNING.value))
    connection.execute(_EVENTS, events)
    log_rows(saga.type, events)
    dispatch.commit()
    fallback_from = step.fallback_from_attempt
    return StepRun(saga_id, saga.type, index, step.name, step.attempts, saga.payload, fallback_from is not None,
                   step.attempts - (fallback_from or 0))


def succeed(run, outcome, definition):
    """Record a successful attempt and move on, in one transaction; False if the general path must.

    The attempt's own writes are already flushed into this transaction, so they commit with it.
    The last step of a saga without an on_complete hook completes the saga here too, sparing a
    job; with a hook, the completion job runs it.
    """
    now, last = clock.now(), run.index + 1 == len(definition.steps)
    params = {"b_saga": run.saga_id, "b_index": run.index, "b_now": now, "b_next": run.index + 1}
    statement = _TO_NEXT if not last else _TO_COMPLETION if definition.on_complete else _TO_COMPLETED
    connection = db.session.connection()
    if connection.execute(statement, params).rowcount != 1:
        return False  # cancelled, or moved on: the general path takes the lock and decides
    params.update(b_attempt=run.attempt, b_result=outcome.result)
    if connection.execute(_SUCCEED, params).rowcount != 1:
        dispatch.rollback()  # superseded: the sweeper already settled this attempt
        return True
    events = [event_row(run.saga_id, "step.succeeded", now, run.index, run.step_name,
                        attempt=run.attempt, duration_ms=round(outcome.duration_ms, 3),
                        from_status=T.RUNNING.value, to_status=T.SUCCEEDED.value)]
    if not last:
        dispatch.request_step_of(run.saga_id, run.saga_type, run.index + 1, 1)
    elif definition.on_complete:
        dispatch.request_completion_of(run.saga_id, run.saga_type)
    else:
        events.append(event_row(run.saga_id, "saga.completed", now, from_status=S.RUNNING.value,
                                to_status=S.COMPLETED.value))
    connection.execute(_EVENTS, events)
    log_rows(run.saga_type, events)
    dispatch.commit()
    return True
