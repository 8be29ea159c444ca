"""Run one attempt of an action or compensation and turn whatever happened into an Outcome."""
import logging
import time
from typing import NamedTuple

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.timeouts import BaseTimeoutException
from sqlalchemy.exc import DBAPIError, OperationalError

from app.extensions import db
from app.saga.errors import PermanentError, StepTimedOut, TransientError

log = logging.getLogger(__name__)

TRANSIENT = (TransientError, OperationalError, ConnectionError, TimeoutError,
             RedisConnectionError, RedisTimeoutError)


class Outcome(NamedTuple):
    """The result of one attempt: success with a result, or an error and how to treat it."""

    ok: bool
    duration_ms: float
    result: dict | None = None
    error: str | None = None
    error_type: str | None = None
    transient: bool = False
    timed_out: bool = False
    outcome_unknown: bool = False


def not_started(reason):
    """The outcome of an attempt claimed but never run (its job or horse did not start it): to retry."""
    return Outcome(False, 0.0, error=reason, error_type="NotStarted", transient=True)


def attempt(call, context):
    """Call `call(context)`, flush its writes, and classify the result; never raises."""
    started = time.perf_counter()

    def elapsed():
        return (time.perf_counter() - started) * 1000

    try:
        result = call(context)
        if db.session.registry.has():  # the action used the session: send its writes now
            db.session.flush()
    except (BaseTimeoutException, StepTimedOut) as exc:
        db.session.rollback()
        return Outcome(False, elapsed(), error=str(exc) or "timed out", error_type="Timeout",
                       transient=True, timed_out=True, outcome_unknown=True)
    except PermanentError as exc:
        db.session.rollback()
        return Outcome(False, elapsed(), error=str(exc), error_type=type(exc).__name__)
    except TRANSIENT as exc:
        db.session.rollback()
        return Outcome(False, elapsed(), error=_message(exc), error_type=type(exc).__name__,
                       transient=True, outcome_unknown=not isinstance(exc, TransientError))
    except DBAPIError as exc:
        db.session.rollback()
        return Outcome(False, elapsed(), error=_message(exc), error_type=type(exc).__name__)
    except Exception as exc:  # a bug in a step: do not retry, but assume it may have acted
        log.exception("step raised an unexpected error", extra={
            "saga_id": context.saga_id, "saga_type": context.saga_type, "attempt": context.attempt})
        db.session.rollback()
        return Outcome(False, elapsed(), error=_message(exc), error_type=type(exc).__name__,
                       outcome_unknown=True)
    return Outcome(True, elapsed(), result=result if isinstance(result, dict) else {})


def _message(exc):
    """A short, single-line description of an exception."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:500]
