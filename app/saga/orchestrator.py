"""The orchestrator: starts sagas and moves them forward, one step job at a time."""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import Saga, SagaStep
from app.saga import compensation, dispatch, faults
from app.saga.definition import StepContext, get_definition
from app.saga.execution import attempt
from app.saga.journal import claim_step, load_step, lock_saga, move_saga, move_step, record
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T


@dataclass(frozen=True)
class StepRun:
    """What one claimed attempt needs after its claim has committed."""

    saga_id: int
    saga_type: str
    index: int
    attempt: int
    payload: dict
    results: dict
    using_fallback: bool
    variant_attempt: int


def start_saga(saga_type, payload, idempotency_key=None, request_hash=None):
    """Create a saga and enqueue its first step; returns (saga, created)."""
    definition = get_definition(saga_type)
    if idempotency_key and (existing := find_by_idempotency_key(idempotency_key)):
        return existing, False
    now = clock.now()
    saga = Saga(type=saga_type, payload=payload, context={}, step_count=len(definition.steps),
                idempotency_key=idempotency_key, request_hash=request_hash, created_at=now,
                deadline_at=now + timedelta(seconds=current_app.config["SAGA_TIMEOUT"]))
    try:
        db.session.add(saga)
        db.session.flush()
        db.session.add_all(
            SagaStep(saga_id=saga.id, index=i, name=step.name, timeout_seconds=step.timeout_seconds())
            for i, step in enumerate(definition.steps)
        )
        record(saga, "saga.created", to_status=S.PENDING.value)
        request_step(saga, 0)
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


def request_step(saga, index, delay=0.0):
    """Ask for the step's job once the current transaction commits."""
    step = get_definition(saga.type).step(index)
    dispatch.request_job("process_step", saga.id, index, timeout=step.timeout_seconds(), delay=delay,
                         description=f"{saga.type} #{saga.id} {step.name}")


def run_step(saga_id, index):
    """Claim one attempt of a step, run it, and record what happened."""
    run = _claim(saga_id, index)
    if run is None:
        return
    step = get_definition(run.saga_type).step(index)
    fault = faults.fault_for(run.payload, step.name)
    action = step.fallback if run.using_fallback else step.action

    def call(context):
        faults.before_action(fault, run.variant_attempt, run.using_fallback, step.timeout_seconds())
        return action(context)

    context = StepContext(saga_id, run.saga_type, run.payload, run.results, run.attempt)
    _record_outcome(run, attempt(call, context))


def _claim(saga_id, index):
    """Claim the step in its own committed transaction, or return None if it is not ours."""
    saga = lock_saga(saga_id)
    if saga is None or saga.status not in (S.PENDING, S.RUNNING):
        return dispatch.rollback()
    if saga.cancel_requested or clock.now() > saga.deadline_at:
        return _stop_before_step(saga, index)
    step = claim_step(saga, index, (T.PENDING, T.RETRYING), T.RUNNING, "attempts", "step.started")
    if step is None:
        return dispatch.rollback()
    if saga.status == S.PENDING:
        move_saga(saga, S.RUNNING, "saga.started")
    saga.current_step = index
    first = step.fallback_from_attempt or 0
    run = StepRun(saga.id, saga.type, index, step.attempts, saga.payload, saga.context,
                  step.fallback_from_attempt is not None, step.attempts - first)
    dispatch.commit()
    return run


def _stop_before_step(saga, index):
    """A cancelled or overdue saga runs no further step: compensate what is done."""
    step = load_step(saga.id, index)
    reason = "cancelled by an operator" if saga.cancel_requested else "saga deadline exceeded"
    if step is not None and step.status == T.RETRYING:
        move_step(saga, step, T.FAILED, "step.failed", error=reason, error_type="Stopped")
    compensation.begin(saga, reason)
    dispatch.commit()


def _record_outcome(run, outcome):
    """Record an attempt's outcome and decide the saga's next move, in one transaction."""
    saga = lock_saga(run.saga_id)
    step = load_step(run.saga_id, run.index)
    if step is None or step.status != T.RUNNING or step.attempts != run.attempt:
        return dispatch.rollback()  # superseded: the sweeper already settled this attempt
    definition = get_definition(saga.type).step(run.index)
    step.finished_at = clock.now()
    fields = dict(attempt=run.attempt, duration_ms=round(outcome.duration_ms, 3),
                  error=outcome.error, error_type=outcome.error_type)
    if outcome.ok:
        _succeed(saga, step, outcome, fields)
    elif outcome.transient and _may_retry(saga, step, run, definition):
        _schedule_retry(saga, step, run, definition, outcome, fields)
    elif not outcome.transient and definition.fallback and step.fallback_from_attempt is None \
            and not saga.cancel_requested:
        step.fallback_from_attempt = step.attempts
        move_step(saga, step, T.RETRYING, "step.fallback", detail="switching to the fallback", **fields)
        request_step(saga, step.index)
    else:
        _fail(saga, step, outcome, fields)
    dispatch.commit()


def _may_retry(saga, step, run, definition):
    """Whether a transient failure earns another attempt."""
    in_time = clock.now() < saga.deadline_at
    return in_time and not saga.cancel_requested and run.variant_attempt < definition.retry.attempts()


def _succeed(saga, step, outcome, fields):
    """Keep the result and move to the next step, or to completion after the last."""
    step.result, step.error, step.error_type = outcome.result, None, None
    move_step(saga, step, T.SUCCEEDED, "step.succeeded", **fields)
    saga.context = {**saga.context, step.name: outcome.result}
    if saga.cancel_requested:
        compensation.begin(saga, "cancelled by an operator")
    elif step.index + 1 < saga.step_count:
        saga.current_step = step.index + 1
        request_step(saga, step.index + 1)
    else:
        dispatch.request_job("complete_saga", saga.id, timeout=step.timeout_seconds,
                             description=f"{saga.type} #{saga.id} complete")


def _schedule_retry(saga, step, run, definition, outcome, fields):
    """Schedule the next attempt after an exponential, jittered delay."""
    delay = definition.retry.delay(run.variant_attempt)
    step.next_retry_at = clock.now() + timedelta(seconds=delay)
    step.error, step.error_type = outcome.error, outcome.error_type
    step.outcome_unknown = outcome.outcome_unknown
    saga.retries += 1
    move_step(saga, step, T.RETRYING, "step.retry_scheduled", detail=f"next attempt in {delay:.1f} s",
              **fields)
    request_step(saga, step.index, delay)


def _fail(saga, step, outcome, fields):
    """Fail the step for good and start compensating."""
    step.error, step.error_type = outcome.error, outcome.error_type
    step.outcome_unknown = outcome.outcome_unknown
    event = "step.timed_out" if outcome.timed_out else "step.failed"
    move_step(saga, step, T.FAILED, event, **fields)
    saga.error = f"{step.name}: {outcome.error}"
    compensation.begin(saga, f"{step.name} failed: {outcome.error}")


def complete_saga(saga_id):
    """Finish a saga whose steps all succeeded: run its completion and mark it COMPLETED."""
    saga = lock_saga(saga_id)
    if saga is None or saga.status != S.RUNNING:
        return dispatch.rollback()
    last = load_step(saga_id, saga.step_count - 1)
    if last is None or last.status != T.SUCCEEDED:
        return dispatch.rollback()
    if saga.cancel_requested:
        compensation.begin(saga, "cancelled by an operator")
        return dispatch.commit()
    definition = get_definition(saga.type)
    if definition.on_complete is not None:
        definition.on_complete(StepContext(saga.id, saga.type, saga.payload, saga.context, 1))
    saga.finished_at = clock.now()
    move_saga(saga, S.COMPLETED, "saga.completed")
    dispatch.commit()
