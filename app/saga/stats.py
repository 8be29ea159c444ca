"""Per-step latency and failure rates over a recent window, so a slow or failing dependency shows."""
import math
from datetime import timedelta

from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent
from app.saga.queries import ATTEMPT_ENDS

DEFAULT_WINDOW_MINUTES = 15
MAX_WINDOW_MINUTES = 24 * 60
# The most recent attempts a window looks at: enough for stable percentiles, bounded under load.
MAX_ATTEMPTS = 20_000


def step_stats(window_minutes=DEFAULT_WINDOW_MINUTES):
    """Per saga type, step and phase: attempts ended in the window, p50/p95 ms and failure rate."""
    since = clock.now() - timedelta(minutes=window_minutes)
    groups = {}
    for kind, index, step, event_type, duration in _recent_attempt_ends(since):
        phase, outcome = ATTEMPT_ENDS[event_type]
        group = groups.setdefault((kind, index, phase),
                                  {"step": step, "attempts": 0, "failures": 0, "durations": []})
        group["attempts"] += 1
        group["failures"] += outcome != "succeeded"
        if duration is not None:
            group["durations"].append(duration)
    return [_summary(kind, index, phase, group) for (kind, index, phase), group in sorted(groups.items())]


def _recent_attempt_ends(since):
    """(saga type, step index, step, event type, duration_ms) of attempts that ended since then."""
    return db.session.execute(
        select(Saga.type, SagaEvent.step_index, SagaEvent.step_name, SagaEvent.type,
               SagaEvent.duration_ms)
        .join(Saga, Saga.id == SagaEvent.saga_id)
        .where(SagaEvent.id >= first_event_since(since), SagaEvent.created_at >= since,
               SagaEvent.type.in_(list(ATTEMPT_ENDS)), SagaEvent.attempt.is_not(None))
        .order_by(SagaEvent.id.desc()).limit(MAX_ATTEMPTS)
    ).all()


def first_event_since(since):
    """The lowest event id recorded at or after `since`, by bisecting ids.

    created_at has no index, but it grows with the id, so a bisection of a few primary-key lookups
    finds where the window starts instead of scanning the whole history.
    """
    # Two queries, not one: SQLite reads min() or max() alone off the key, both together by a scan.
    low = db.session.execute(select(func.min(SagaEvent.id))).scalar()
    high = db.session.execute(select(func.max(SagaEvent.id))).scalar()
    if high is None:
        return 0
    high += 1
    while low < high:
        middle = (low + high) // 2
        at = db.session.execute(select(SagaEvent.created_at).where(SagaEvent.id >= middle)
                                .order_by(SagaEvent.id).limit(1)).scalar()
        if at is not None and at < since:
            low = middle + 1
        else:
            high = middle
    return low


def _summary(kind, index, phase, group):
    """One row of the panel."""
    durations = sorted(group["durations"])
    return {"saga_type": kind, "step_index": index, "step": group["step"], "phase": phase,
            "attempts": group["attempts"], "failures": group["failures"],
            "failure_rate": group["failures"] / group["attempts"],
            "p50_ms": percentile(durations, 0.50), "p95_ms": percentile(durations, 0.95)}


def percentile(values, fraction):
    """The nearest-rank percentile of sorted values (None when there are none)."""
    if not values:
        return None
    return values[max(0, math.ceil(fraction * len(values)) - 1)]
