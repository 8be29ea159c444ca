"""What is wrong with a quiet saga, and the repair for it (used by the sweeper)."""
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from flask import current_app

from app import clock
from app.saga import compensation, dispatch
from app.saga.definition import get_definition
from app.saga.execution import Outcome
from app.saga.journal import load_step, move_saga, move_step
from app.saga.orchestrator import settle_attempt
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T


@dataclass(frozen=True)
class Repair:
    """One repair: a name for the history and the metrics, a reason, and the fix itself."""

    name: str
    detail: str
    apply: Callable[[], object]


def diagnose(saga, job_alive):
    """The repair a saga needs now, or None if it is healthy (or busy)."""
    now, grace = clock.now(), timedelta(seconds=current_app.config["SAGA_SWEEP_GRACE"])
    if saga.status in (S.PENDING, S.RUNNING):
        return _forward(saga, now, grace, job_alive)
    if saga.status == S.COMPENSATING:
        return _backward(saga, now, grace, job_alive)
    return None


def _forward(saga, now, grace, job_alive):
    """Repairs while the saga runs forward."""
    step = load_step(saga.id, saga.current_step)
    if step.status == T.RUNNING:
        if not _stale(step, now, grace):
            return None
        return Repair("attempt_timed_out", f"{step.name} attempt {step.attempts} never reported back",
                      lambda: settle_attempt(saga, step, _lost(step, now), actor="sweeper"))
    if now > saga.deadline_at and not get_definition(saga.type).past_pivot(step.index):
        return Repair("deadline", "saga deadline exceeded", lambda: _abandon(saga, step))
    if step.status == T.PENDING or (step.status == T.RETRYING and _due(step, now, grace)):
        attempt = step.attempts + 1
        if not job_alive(dispatch.step_job_id(saga.id, step.index, attempt)):
            return Repair("requeued", f"the job for {step.name} attempt {attempt} was missing",
                          lambda: dispatch.request_step(saga, step.index, attempt))
    if step.status == T.SUCCEEDED and step.index == saga.step_count - 1:
        if not job_alive(dispatch.completion_job_id(saga.id)):
            return Repair("requeued", "the completion job was missing",
                          lambda: dispatch.request_completion(saga))
    return None


def _backward(saga, now, grace, job_alive):
    """Repairs while the saga compensates."""
    if saga.compensation_deadline_at and now > saga.compensation_deadline_at:
        return Repair("compensation_deadline", "compensation deadline exceeded", lambda: _give_up(saga))
    running = compensation.steps_in(saga, T.COMPENSATING)
    for step in running:
        if _stale(step, now, grace):
            return Repair("compensation_timed_out",
                          f"undo of {step.name} attempt {step.compensation_attempts} never reported back",
                          lambda: compensation.settle_compensation(saga, step, _lost(step, now), "sweeper"))
    undo = compensation.to_undo(saga)
    if not running and not undo:
        return Repair("finished", "nothing left to compensate", lambda: compensation.finish(saga, "sweeper"))
    parallel = get_definition(saga.type).parallel_compensation
    expected = undo if parallel else ([] if running else undo[:1])
    for step in expected:
        if step.status == T.COMPENSATION_RETRYING and not _due(step, now, grace):
            continue
        attempt = step.compensation_attempts + 1
        if not job_alive(dispatch.compensation_job_id(saga.id, step.index, attempt)):
            return Repair("requeued", f"the job undoing {step.name} (attempt {attempt}) was missing",
                          lambda: dispatch.request_compensation(saga, step.index, attempt))
    return None


def _abandon(saga, step):
    """Stop an overdue saga between steps and compensate what it did."""
    reason = "saga deadline exceeded"
    if step.status == T.RETRYING:
        move_step(saga, step, T.FAILED, "step.failed", error=reason, error_type="Deadline", actor="sweeper")
    compensation.begin(saga, reason, actor="sweeper")


def _give_up(saga):
    """End an overdue compensation: what is still undone waits for an operator."""
    for step in compensation.steps_in(saga, T.COMPENSATING, T.COMPENSATION_RETRYING):
        step.error, step.error_type = "compensation deadline exceeded", "Deadline"
        move_step(saga, step, T.COMPENSATION_FAILED, "compensation.failed", actor="sweeper",
                  error=step.error, error_type=step.error_type)
    saga.finished_at = clock.now()
    move_saga(saga, S.FAILED, "saga.failed", actor="sweeper",
              detail="needs attention: compensation deadline exceeded")


def _stale(step, now, grace):
    """Whether a running attempt has outlived its timeout by more than the grace period."""
    return step.started_at is not None and \
        step.started_at + timedelta(seconds=step.timeout_seconds) + grace < now


def _due(step, now, grace):
    """Whether a scheduled retry should have started by now."""
    return step.next_retry_at is None or step.next_retry_at + grace < now


def _lost(step, now):
    """The outcome of an attempt whose worker never reported back: a timeout, effect unknown."""
    elapsed = (now - step.started_at).total_seconds() * 1000 if step.started_at else 0.0
    return Outcome(False, elapsed, error=f"no result {step.timeout_seconds} s after it started: "
                   "its worker died or its job was lost", error_type="Timeout",
                   transient=True, timed_out=True, outcome_unknown=True)
