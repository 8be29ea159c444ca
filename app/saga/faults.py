"""The simulated outside world misbehaving on request: failures injected per saga and step.

A saga's payload may carry `faults`: {step name: {"kind": ..., "times": N}}. Kinds:
- transient: the first N attempts fail with a TransientError, then the step succeeds;
- permanent: every attempt (action and fallback) is rejected with a PermanentError;
- fallback: the action is rejected permanently, the fallback (if any) succeeds;
- hang: the action hangs past the step timeout on every attempt;
- compensation: the step's compensation fails on every attempt.
"""
import time

from app.saga.errors import PermanentError, StepTimedOut, TransientError

KINDS = ("transient", "permanent", "fallback", "hang", "compensation")
MAX_TRANSIENT_TIMES = 10
HANG_SLICE = 0.05
HANG_GRACE = 5


def fault_for(payload, step_name):
    """The fault injected into a step of this saga, or None."""
    fault = (payload.get("faults") or {}).get(step_name)
    return fault if fault and fault.get("kind") in KINDS else None


def before_action(fault, attempt, using_fallback, timeout_seconds):
    """Fail the way the fault says before the step's action (or fallback) runs.

    `timeout_seconds` gives the step's timeout; only a hang asks for it.
    """
    if fault is None:
        return
    kind = fault["kind"]
    if kind == "transient" and attempt <= int(fault.get("times", 1)):
        raise TransientError(f"simulated outage ({attempt} of {fault.get('times', 1)})")
    if kind == "permanent":
        raise PermanentError("rejected by the simulated service (permanent)")
    if kind == "fallback" and not using_fallback:
        raise PermanentError("primary service rejected the request (simulated); fallback available")
    if kind == "hang":
        timeout = timeout_seconds()
        _hang(timeout + HANG_GRACE)
        raise StepTimedOut(f"simulated hang outlived the {timeout} s timeout without being stopped")


def before_compensation(fault, attempt):
    """Fail the step's compensation when the fault says so."""
    if fault is not None and fault["kind"] == "compensation":
        raise TransientError(f"simulated compensation failure (attempt {attempt})")


def _hang(seconds):
    """Sleep in short slices so a timer-based timeout can interrupt between them."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(HANG_SLICE)
