"""Saga and step statuses, and the one table of moves each may make."""
from enum import Enum

from app.saga.errors import IllegalTransition


class SagaStatus(str, Enum):
    """Where a saga is in its life."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"
    FAILED = "FAILED"


class StepStatus(str, Enum):
    """Where one step is: its action first, then possibly its compensation."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    RETRYING = "RETRYING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    COMPENSATING = "COMPENSATING"
    COMPENSATION_RETRYING = "COMPENSATION_RETRYING"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    RESOLVED = "RESOLVED"


S, T = SagaStatus, StepStatus

SAGA_TRANSITIONS = {
    S.PENDING: {S.RUNNING, S.COMPENSATING},
    S.RUNNING: {S.COMPLETED, S.COMPENSATING},
    S.COMPENSATING: {S.COMPENSATED, S.FAILED},
    S.FAILED: {S.COMPENSATING, S.COMPENSATED},
    S.COMPLETED: set(),
    S.COMPENSATED: set(),
}

STEP_TRANSITIONS = {
    T.PENDING: {T.RUNNING, T.SKIPPED},
    T.RUNNING: {T.SUCCEEDED, T.RETRYING, T.FAILED},
    T.RETRYING: {T.RUNNING, T.FAILED},
    T.SUCCEEDED: {T.COMPENSATING},
    T.FAILED: {T.COMPENSATING},
    T.COMPENSATING: {T.COMPENSATED, T.COMPENSATION_RETRYING, T.COMPENSATION_FAILED},
    T.COMPENSATION_RETRYING: {T.COMPENSATING, T.COMPENSATION_FAILED},
    T.COMPENSATION_FAILED: {T.COMPENSATION_RETRYING, T.RESOLVED},
    T.COMPENSATED: set(),
    T.RESOLVED: set(),
    T.SKIPPED: set(),
}

TERMINAL_SAGA = frozenset({S.COMPLETED, S.COMPENSATED, S.FAILED})
ACTIVE_SAGA = frozenset({S.PENDING, S.RUNNING, S.COMPENSATING})


def check_saga_move(current, target):
    """Raise IllegalTransition unless a saga may move from `current` to `target`."""
    _check(SAGA_TRANSITIONS, SagaStatus(current), SagaStatus(target), "saga")


def check_step_move(current, target):
    """Raise IllegalTransition unless a step may move from `current` to `target`."""
    _check(STEP_TRANSITIONS, StepStatus(current), StepStatus(target), "step")


def _check(table, current, target, what):
    """Look the move up in its table."""
    if target not in table[current]:
        raise IllegalTransition(f"{what} cannot move from {current.value} to {target.value}")
