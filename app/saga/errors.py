"""The engine's own errors, and the step errors it classifies."""
from app.errors import PermanentError, StepError, StepTimedOut, TransientError

__all__ = ["SagaError", "IllegalTransition", "PermanentError", "StepError", "StepTimedOut",
           "TransientError"]


class SagaError(Exception):
    """Base of the engine's errors."""


class IllegalTransition(SagaError):
    """A status change that the transition table does not allow."""
