"""The saga page's model: the steps in order with every attempt, then the compensations in reverse."""
from flask import current_app

from app import clock
from app.dashboard.filters import countdown
from app.saga.definition import get_definition
from app.saga.errors import SagaError
from app.saga.states import ACTIVE_SAGA

WAITING = ("RETRYING", "COMPENSATION_RETRYING")
UNDO_STATUSES = ("COMPENSATING", "COMPENSATION_RETRYING", "COMPENSATED", "COMPENSATION_FAILED", "RESOLVED")
UNDONE_SAGA = ("COMPENSATING", "COMPENSATED", "FAILED")


def build(detail):
    """Arrange a saga_detail() for display; `live` says whether the page should keep polling."""
    now = clock.now()
    undoable = _undoable_steps(detail["type"])
    steps = [_step(step, undoable is None or step["index"] in undoable, now) for step in detail["steps"]]
    undoing = detail["status"] in UNDONE_SAGA or any(step["undo"] for step in steps)
    return {**detail, "steps": steps, "live": detail["status"] in ACTIVE_SAGA,
            "compensations": [step for step in reversed(steps) if step["ran"]] if undoing else [],
            "state": state_key(detail), "now": now}


def state_key(saga):
    """What decides which operator actions apply: the status, and whether a cancel is pending."""
    return f"{saga['status']}-cancelling" if saga["cancel_requested"] else saga["status"]


def _undoable_steps(saga_type):
    """Positions of the steps that have a compensation; None if this process does not know the type."""
    try:
        steps = get_definition(saga_type).steps
    except SagaError:
        return None
    return {index for index, step in enumerate(steps) if step.compensation is not None}


def _step(step, undoable, now):
    """One step with its action attempts, its compensation attempts and what it waits for."""
    history = step["history"]
    actions = [_attempt(a, step, "step") for a in history if a["phase"] == "action"]
    undo = [_attempt(a, step, "compensation") for a in history if a["phase"] == "compensation"]
    waiting = step["status"] in WAITING and step["next_retry_at"] is not None
    return {**step, "actions": actions, "undo": undo,
            "retry_in": countdown(step["next_retry_at"], now) if waiting else None,
            "has_compensation": undoable,
            "ran": step["status"] not in ("PENDING", "SKIPPED") or bool(actions),
            "in_undo": step["status"] in UNDO_STATUSES,
            "timeout_fired": timeout_fired(step["error_type"], step["error"], step, "step")}


def _attempt(attempt, step, phase):
    """An attempt, with the timeout that ended it, if one did."""
    return {**attempt, "timeout_fired": timeout_fired(attempt["error_type"], attempt["error"], step, phase)}


def timeout_fired(error_type, error, step, phase):
    """Name the timeout or deadline behind an error, or None when it was something else."""
    text = (error or "").lower()
    if error_type == "Timeout":
        return f"{phase} timeout ({step['timeout_seconds']} s)"
    if "deadline" in text:
        if "compensation" in text:
            return f"compensation deadline ({current_app.config['SAGA_COMPENSATION_TIMEOUT']} s)"
        return f"saga deadline ({current_app.config['SAGA_TIMEOUT']} s)"
    return None
