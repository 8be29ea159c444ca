"""Undoing a saga: compensate every completed step in reverse order, one job at a time."""
from datetime import timedelta

from flask import current_app

from app import clock
from app.extensions import db
from app.models import SagaStep
from app.saga import dispatch, faults
from app.saga.definition import StepContext, get_definition
from app.saga.execution import attempt
from app.saga.journal import claim_step, load_step, lock_saga, move_saga, move_step
from app.saga.results import StepResults
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T

CLAIMABLE = (T.SUCCEEDED, T.FAILED, T.COMPENSATION_RETRYING)


def begin(saga, reason, actor="orchestrator"):
    """Move a saga to COMPENSATING, skip the steps that never ran, and undo the rest."""
    move_saga(saga, S.COMPENSATING, "saga.compensating", detail=reason, actor=actor)
    restart_deadline(saga)
    for step in steps_in(saga, T.PENDING):
        move_step(saga, step, T.SKIPPED, "step.skipped", detail=reason, actor=actor)
    resume(saga)


def resume(saga):
    """Request the compensations due now: the highest one, or all at once for a parallel saga."""
    if not get_definition(saga.type).parallel_compensation:
        return continue_after(saga, saga.step_count)
    pending = to_undo(saga)
    if not pending and not steps_in(saga, T.COMPENSATING):
        return finish(saga)
    for step in pending:
        if step.status != T.COMPENSATION_RETRYING:
            dispatch.request_compensation(saga, step.index, step.compensation_attempts + 1)


def restart_deadline(saga):
    """Give the compensation phase its full time budget from now."""
    saga.compensation_deadline_at = clock.now() + timedelta(
        seconds=current_app.config["SAGA_COMPENSATION_TIMEOUT"])


def continue_after(saga, below):
    """Request the compensation of the next step below `below`, or finish the saga."""
    step = next_to_compensate(saga, below)
    if step is None:
        return finish(saga)
    dispatch.request_compensation(saga, step.index, step.compensation_attempts + 1)


def next_to_compensate(saga, below):
    """The highest step below `below` that still has an effect to undo, or None."""
    return next((step for step in to_undo(saga) if step.index < below), None)


def to_undo(saga):
    """Every step that still has an effect to undo, highest first.

    A step that succeeded is undone; a failed step only when its outcome is unknown (it timed
    out or died), since a rejection means nothing happened.
    """
    definition = get_definition(saga.type)
    return [step for step in reversed(steps_in(saga, T.SUCCEEDED, T.FAILED, T.COMPENSATION_RETRYING))
            if definition.step(step.index).compensation is not None
            and (step.status != T.FAILED or step.outcome_unknown)]


def finish(saga, actor="orchestrator"):
    """End the compensation: COMPENSATED, or FAILED if any compensation could not be done."""
    stuck = steps_in(saga, T.COMPENSATION_FAILED)
    saga.finished_at = clock.now()
    if stuck:
        names = ", ".join(step.name for step in stuck)
        move_saga(saga, S.FAILED, "saga.failed", actor=actor,
                  detail=f"needs attention: compensation failed for {names}")
    else:
        move_saga(saga, S.COMPENSATED, "saga.compensated", actor=actor)


def compensate_step(saga_id, index):
    """Claim one attempt of a step's compensation, run it, and record what happened."""
    saga = lock_saga(saga_id)
    if saga is None or saga.status != S.COMPENSATING or not _is_next(saga, index):
        return dispatch.rollback()
    step = claim_step(saga, index, CLAIMABLE, T.COMPENSATING, "compensation_attempts",
                      "compensation.started")
    if step is None:
        return dispatch.rollback()
    number, payload, saga_type = step.compensation_attempts, saga.payload, saga.type
    dispatch.commit()
    definition = get_definition(saga_type).step(index)
    fault = faults.fault_for(payload, definition.name)

    def call(context):
        faults.before_compensation(fault, number)
        return definition.compensation(context)

    outcome = attempt(call, StepContext(saga_id, saga_type, payload, StepResults(saga_id), number))
    saga = lock_saga(saga_id)
    step = load_step(saga_id, index)
    if saga.status != S.COMPENSATING or step.status != T.COMPENSATING \
            or step.compensation_attempts != number:
        return dispatch.rollback()  # superseded by the sweeper or an operator
    settle_compensation(saga, step, outcome)
    dispatch.commit()


def _is_next(saga, index):
    """Whether this step's compensation is due now: reverse order, one at a time (or any, in
    a saga that compensates in parallel)."""
    if get_definition(saga.type).parallel_compensation:
        return any(step.index == index for step in to_undo(saga))
    if steps_in(saga, T.COMPENSATING):
        return False
    step = next_to_compensate(saga, saga.step_count)
    return step is not None and step.index == index


def settle_compensation(saga, step, outcome, actor="orchestrator"):
    """Record a finished compensation attempt and move on, retry, or give up on this step."""
    definition = get_definition(saga.type).step(step.index)
    number = step.compensation_attempts
    fields = dict(attempt=number, duration_ms=round(outcome.duration_ms, 3), error=outcome.error,
                  error_type=outcome.error_type, actor=actor)
    step.finished_at = clock.now()
    if outcome.ok:
        move_step(saga, step, T.COMPENSATED, "compensation.succeeded", **fields)
        _after_undo(saga, step)
    elif outcome.transient and number - step.compensation_base < definition.compensation_retry.attempts(True) \
            and clock.now() < saga.compensation_deadline_at:
        delay = definition.compensation_retry.delay(number - step.compensation_base)
        step.next_retry_at = clock.now() + timedelta(seconds=delay)
        saga.retries += 1
        move_step(saga, step, T.COMPENSATION_RETRYING, "compensation.retry_scheduled",
                  detail=f"next attempt in {delay:.1f} s", **fields)
        dispatch.request_compensation(saga, step.index, number + 1, delay)
    else:
        step.error, step.error_type = outcome.error, outcome.error_type
        move_step(saga, step, T.COMPENSATION_FAILED, "compensation.failed", **fields)
        _after_undo(saga, step)


def _after_undo(saga, step):
    """After a step's compensation ended: the next one in reverse order, or finish when all did."""
    if not get_definition(saga.type).parallel_compensation:
        return continue_after(saga, step.index)
    if not to_undo(saga) and not steps_in(saga, T.COMPENSATING):
        finish(saga)


def steps_in(saga, *statuses):
    """The saga's steps in the given statuses, in order."""
    return list(db.session.execute(
        db.select(SagaStep).where(SagaStep.saga_id == saga.id, SagaStep.status.in_(statuses))
        .order_by(SagaStep.index)
    ).scalars())
