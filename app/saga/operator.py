"""Operator actions: cancel a running saga, retry failed compensations, resolve a step by hand.

Each is one transaction that records who did it and why in the saga's history.
"""
from app.errors import Conflict, NotFound
from app.saga import compensation, dispatch
from app.saga.definition import get_definition
from app.saga.journal import load_step, lock_saga, move_saga, move_step, record
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T

NEEDS_ATTENTION = S.FAILED


def cancel(saga_id, actor, reason):
    """Stop a pending or running saga and compensate what it has done.

    A step that is running finishes its attempt first; the orchestrator then compensates.
    """
    saga = _locked(saga_id)
    if saga.status not in (S.PENDING, S.RUNNING) or saga.cancel_requested:
        dispatch.rollback()
        raise Conflict(f"saga {saga_id} is {saga.status}{' (cancelling)' if saga.cancel_requested else ''}"
                       "; only a pending or running saga can be cancelled")
    definition = get_definition(saga.type)
    if definition.pivot_index is not None and saga.current_step > definition.pivot_index:
        dispatch.rollback()
        raise Conflict(f"saga {saga_id} is past its pivot step "
                       f"{definition.step(definition.pivot_index).name}: it can only go forward")
    saga.cancel_requested = True
    why = reason or "cancelled by an operator"
    record(saga, "saga.cancel_requested", actor=actor, detail=why)
    current = load_step(saga.id, saga.current_step)
    if current is None or current.status != T.RUNNING:
        if current is not None and current.status == T.RETRYING:
            move_step(saga, current, T.FAILED, "step.failed", error=why, error_type="Cancelled",
                      actor=actor)
        compensation.begin(saga, why, actor=actor)
    dispatch.commit()
    return saga


def retry_compensation(saga_id, actor, reason):
    """Give a FAILED saga's failed compensations a fresh set of attempts and resume undoing."""
    saga = _locked(saga_id)
    if saga.status != S.FAILED:
        dispatch.rollback()
        raise Conflict(f"saga {saga_id} is {saga.status}; only a FAILED saga can be retried")
    move_saga(saga, S.COMPENSATING, "saga.retry_requested", actor=actor, detail=reason or "retry")
    saga.finished_at = None
    for step in compensation.steps_in(saga, T.COMPENSATION_FAILED):
        step.compensation_base = step.compensation_attempts
        move_step(saga, step, T.COMPENSATION_RETRYING, "compensation.retry_requested", actor=actor,
                  detail=reason)
    compensation.restart_deadline(saga)
    compensation.resume(saga)
    dispatch.commit()
    return saga


def resolve(saga_id, step_index, actor, reason):
    """Mark a COMPENSATION_FAILED step as fixed by hand; the saga ends once nothing is left."""
    if not reason or not reason.strip():
        raise Conflict("a reason is required to resolve a step")
    saga = _locked(saga_id)
    step = load_step(saga_id, step_index)
    if step is None or step.status != T.COMPENSATION_FAILED:
        dispatch.rollback()
        raise Conflict(f"step {step_index} of saga {saga_id} is not waiting for an operator")
    move_step(saga, step, T.RESOLVED, "step.resolved", actor=actor, detail=reason)
    if saga.status == S.FAILED and not compensation.steps_in(saga, T.COMPENSATION_FAILED) \
            and compensation.next_to_compensate(saga, saga.step_count) is None:
        move_saga(saga, S.COMPENSATED, "saga.resolved", actor=actor, detail=reason)
    dispatch.commit()
    return saga


def _locked(saga_id):
    """The saga, locked for this transaction, or NotFound."""
    saga = lock_saga(saga_id)
    if saga is None:
        dispatch.rollback()
        raise NotFound(f"saga {saga_id} does not exist")
    return saga
