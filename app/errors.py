"""Errors shared by services and the saga engine: how a failure should be treated."""


class StepError(Exception):
    """Base of the errors a saga step's action or compensation raises on purpose."""


class TransientError(StepError):
    """A failure that may pass: the step is retried while attempts remain."""


class PermanentError(StepError):
    """A business rejection: retrying cannot help, and nothing happened."""


class StepTimedOut(TransientError):
    """The step ran past its timeout; whether its effect happened is unknown."""


class NotFound(PermanentError):
    """A record a request or step refers to does not exist."""


class Conflict(PermanentError):
    """A request that contradicts the current state of a record."""
