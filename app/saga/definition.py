"""How a saga type is declared: steps with action, compensation and policy, registered by name."""
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import current_app

from app.saga.errors import SagaError


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; unset values come from the app's configuration."""

    max_attempts: int | None = None
    base_delay: float | None = None
    max_delay: float | None = None

    def attempts(self, compensation=False):
        """The attempt limit, from the policy or the configuration."""
        if self.max_attempts is not None:
            return self.max_attempts
        key = "SAGA_COMPENSATION_ATTEMPTS" if compensation else "SAGA_RETRY_ATTEMPTS"
        return current_app.config[key]

    def delay(self, attempt):
        """Seconds before the next attempt: exponential backoff with equal jitter."""
        base = self.base_delay if self.base_delay is not None else current_app.config["SAGA_RETRY_DELAY"]
        cap = self.max_delay if self.max_delay is not None else current_app.config["SAGA_RETRY_MAX_DELAY"]
        ceiling = min(cap, base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class StepContext:
    """What an action or compensation sees: the saga's input, earlier results and the attempt."""

    saga_id: int
    saga_type: str
    payload: dict
    results: Mapping[str, dict]  # earlier steps' results by step name, read on first use
    attempt: int

    def result_of(self, step_name, key=None):
        """The result an earlier step returned (or one value of it)."""
        result = self.results.get(step_name) or {}
        return result if key is None else result.get(key)


Action = Callable[[StepContext], Any]


@dataclass(frozen=True)
class Step:
    """One step: an action, its compensation (harmless when nothing happened) and policies."""

    name: str
    action: Action
    compensation: Action | None = None
    fallback: Action | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    compensation_retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: int | None = None
    pivot: bool = False

    def timeout_seconds(self):
        """The step's timeout, from the step or the configuration."""
        return self.timeout or current_app.config["SAGA_STEP_TIMEOUT"]


@dataclass(frozen=True)
class SagaDefinition:
    """A named list of steps, and what to do once every step has succeeded."""

    name: str
    steps: tuple[Step, ...]
    on_complete: Action | None = None
    description: str = ""
    parallel_compensation: bool = False

    def __post_init__(self):
        if sum(step.pivot for step in self.steps) > 1:
            raise SagaError(f"saga type {self.name!r} has more than one pivot step")

    def step(self, index):
        """The step at a position."""
        return self.steps[index]

    def past_pivot(self, index):
        """Whether the step at `index` comes after the pivot: it is retried until it succeeds.

        Once the pivot step has succeeded the saga can only go forward, so later failures are
        retried (with capped backoff) instead of compensated, and cancellation is refused.
        """
        return self.pivot_index is not None and index > self.pivot_index

    @property
    def pivot_index(self):
        """The position of the pivot step, or None."""
        return next((i for i, step in enumerate(self.steps) if step.pivot), None)


_REGISTRY: dict[str, SagaDefinition] = {}


def register(definition):
    """Make a saga type available by its name; returns it so a module can keep a reference."""
    if definition.name in _REGISTRY and _REGISTRY[definition.name] is not definition:
        raise SagaError(f"saga type {definition.name!r} is registered twice")
    _REGISTRY[definition.name] = definition
    return definition


def get_definition(name):
    """The registered saga type of that name."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise SagaError(f"unknown saga type {name!r}") from None


def saga_types():
    """Names of every registered saga type."""
    return sorted(_REGISTRY)
