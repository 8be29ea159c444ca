"""Read side of the engine: saga lists, details with every attempt, and counts."""
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, inspect

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga.results import results_of

ATTEMPT_STARTS = {"step.started": "action", "compensation.started": "compensation"}
ATTEMPT_ENDS = {
    "step.succeeded": ("action", "succeeded"), "step.retry_scheduled": ("action", "will retry"),
    "step.failed": ("action", "failed"), "step.timed_out": ("action", "timed out"),
    "step.fallback": ("action", "rejected, fallback next"),
    "compensation.succeeded": ("compensation", "succeeded"),
    "compensation.retry_scheduled": ("compensation", "will retry"),
    "compensation.failed": ("compensation", "failed"),
}


def list_sagas(status=None, saga_type=None, before=None, limit=20):
    """Newest sagas first, filtered, one keyset page; returns (sagas, next cursor or None)."""
    query = db.select(Saga).order_by(Saga.id.desc()).limit(limit + 1)
    if status:
        query = query.where(Saga.status == status)
    if saga_type:
        query = query.where(Saga.type == saga_type)
    if before:
        query = query.where(Saga.id < before)
    sagas = list(db.session.execute(query).scalars())
    more = len(sagas) > limit
    sagas = sagas[:limit]
    return sagas, (sagas[-1].id if more and sagas else None)


def get_steps(saga_id):
    """A saga's steps in order."""
    return list(db.session.execute(
        db.select(SagaStep).where(SagaStep.saga_id == saga_id).order_by(SagaStep.index)
    ).scalars())


def get_events(saga_id):
    """A saga's history, oldest first."""
    return list(db.session.execute(
        db.select(SagaEvent).where(SagaEvent.saga_id == saga_id).order_by(SagaEvent.id)
    ).scalars())


def attempts_by_step(events):
    """Every attempt of every step, built from the history: {step index: [attempt, ...]}."""
    attempts, open_attempts = {}, {}
    for event in events:
        if event.step_index is None or event.attempt is None:
            continue
        key = (event.step_index, event.attempt)
        if event.type in ATTEMPT_STARTS:
            entry = {"phase": ATTEMPT_STARTS[event.type], "number": event.attempt,
                     "started_at": event.created_at, "ended_at": None, "duration_ms": None,
                     "outcome": "running", "error": None, "error_type": None}
            attempts.setdefault(event.step_index, []).append(entry)
            open_attempts[(key, entry["phase"])] = entry
        elif event.type in ATTEMPT_ENDS:
            phase, outcome = ATTEMPT_ENDS[event.type]
            entry = open_attempts.pop((key, phase), None)
            if entry is not None:
                entry.update(ended_at=event.created_at, duration_ms=event.duration_ms,
                             outcome=outcome, error=event.error, error_type=event.error_type)
    return attempts


_RECENT = {}


def recent(query, *args):
    """`query(*args)`, reused for SAGA_COUNTS_MAX_AGE seconds per process.

    The overview polls every second from every open tab; counting the whole table (or a busy
    window of it) for each poll would grow with history, so each figure is computed at most
    once per max age, whatever the number of pollers.
    """
    key = (id(current_app._get_current_object()), query.__name__, args)
    taken, value = _RECENT.get(key, (None, None))
    if taken is None or time.monotonic() - taken >= current_app.config["SAGA_COUNTS_MAX_AGE"]:
        value = query(*args)
        _RECENT[key] = (time.monotonic(), value)
    return value


def status_counts(saga_type=None):
    """How many sagas are in each status."""
    query = db.select(Saga.status, func.count()).group_by(Saga.status)
    if saga_type:
        query = query.where(Saga.type == saga_type)
    return dict(db.session.execute(query).all())


def saga_detail(saga):
    """A saga with its steps (each with every attempt) and its history."""
    events = get_events(saga.id)
    attempts = attempts_by_step(events)
    rows = get_steps(saga.id)
    steps = [{**_columns(step), "history": attempts.get(step.index, [])} for step in rows]
    return {**_columns(saga), "context": results_of(rows), "steps": steps, "events": events}


def _columns(record):
    """A record's column values as a dict."""
    return {attr.key: getattr(record, attr.key) for attr in inspect(record).mapper.column_attrs}


FINAL = ("COMPLETED", "COMPENSATED", "FAILED")


def steps_of(saga_ids):
    """The steps of several sagas in one query: {saga id: [step, ...]} in step order."""
    steps = {saga_id: [] for saga_id in saga_ids}
    if saga_ids:
        query = db.select(SagaStep).where(SagaStep.saga_id.in_(saga_ids)).order_by(
            SagaStep.saga_id, SagaStep.index)
        for step in db.session.execute(query).scalars():
            steps[step.saga_id].append(step)
    return steps


def needs_attention(before=None, limit=20):
    """FAILED sagas, newest first, each with its steps whose compensation failed; one keyset page."""
    sagas, cursor = list_sagas("FAILED", before=before, limit=limit)
    steps = steps_of([saga.id for saga in sagas])
    stuck = [(saga, [s for s in steps[saga.id] if s.status == "COMPENSATION_FAILED"]) for saga in sagas]
    return stuck, cursor


def recent_throughput(minutes=5):
    """Sagas that finished in the last minutes, by final status (an index range scan)."""
    since = clock.now() - timedelta(minutes=minutes)
    # No GROUP BY: with one, SQLite's planner walks the whole status index instead of searching
    # the finished_at index for the window.
    statuses = db.session.execute(db.select(Saga.status).where(Saga.finished_at >= since)).scalars()
    counts = {status: 0 for status in FINAL}
    for status in statuses:
        if status in counts:
            counts[status] += 1
    return {"minutes": minutes, "counts": counts, "total": sum(counts.values()),
            "per_minute": sum(counts.values()) / minutes}
