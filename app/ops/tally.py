"""Running totals of the saga history, aggregated in SQL and folded in once events have settled.

Every counter and histogram the metrics expose is a sum over `saga_events`, which only grows.
Summing the whole table at every scrape costs seconds at 100,000 sagas, so each process keeps
the totals of a settled prefix of the table (ids up to `folded_upto`) and sums only the rows
above it at each scrape. Every process still reports the database's figures: the prefix is the
same rows for everyone, and the tail is read fresh.
"""
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, func, select

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent

# Bucket bounds of the duration histograms, in milliseconds (the unit of saga_events.duration_ms).
BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)

# An event older than this is committed: ids below it can no longer appear, so it may be folded.
# Events are written by short transactions; a minute leaves a wide margin, clock skew included.
SETTLE = timedelta(seconds=60)


@dataclass
class Totals:
    """Sums for one (saga type, event type, step, to_status) group of events."""

    count: int = 0
    timed: int = 0
    sum_ms: float = 0.0
    timeouts: int = 0
    buckets: list = field(default_factory=lambda: [0] * len(BUCKETS_MS))

    def add(self, other):
        """Add another group's sums to these."""
        self.count += other.count
        self.timed += other.timed
        self.sum_ms += other.sum_ms
        self.timeouts += other.timeouts
        self.buckets = [mine + theirs for mine, theirs in zip(self.buckets, other.buckets)]


class EventTally:
    """The totals of every event group: a folded, settled prefix plus a tail read per call."""

    def __init__(self):
        self.folded_upto = 0
        self._folded = {}
        self._lock = threading.Lock()

    def totals(self):
        """{(saga type, event type, step, to_status): Totals} over the whole history, now."""
        with self._lock:
            upto = settled_upto(self.folded_upto, clock.now() - SETTLE)
            if upto > self.folded_upto:
                merge(self._folded, aggregate(self.folded_upto, upto))
                self.folded_upto = upto
            result = merge({}, self._folded)
            return merge(result, aggregate(self.folded_upto))


def settled_upto(after, cutoff):
    """The highest id such that every event above `after` and up to it is older than `cutoff`."""
    first_recent = db.session.execute(
        select(func.min(SagaEvent.id)).where(SagaEvent.id > after, SagaEvent.created_at >= cutoff)
    ).scalar()
    if first_recent is not None:
        return first_recent - 1
    last_old = db.session.execute(
        select(func.max(SagaEvent.id)).where(SagaEvent.id > after, SagaEvent.created_at < cutoff)
    ).scalar()
    return last_old if last_old is not None else after


def aggregate(after, upto=None):
    """Sum the events with ids in (after, upto] by group, bucketing durations in SQL."""
    ms = SagaEvent.duration_ms
    query = (
        select(Saga.type, SagaEvent.type, SagaEvent.step_name, SagaEvent.to_status,
               func.count(), func.count(ms), func.coalesce(func.sum(ms), 0),
               func.sum(case((SagaEvent.error_type == "Timeout", 1), else_=0)),
               *(func.sum(case((ms <= bound, 1), else_=0)) for bound in BUCKETS_MS))
        .join(Saga, Saga.id == SagaEvent.saga_id)
        .where(SagaEvent.id > after)
        .group_by(Saga.type, SagaEvent.type, SagaEvent.step_name, SagaEvent.to_status)
    )
    if upto is not None:
        query = query.where(SagaEvent.id <= upto)
    return {tuple(row[:4]): Totals(int(row[4]), int(row[5]), float(row[6]), int(row[7]),
                                   [int(n) for n in row[8:]])
            for row in db.session.execute(query)}


def merge(into, groups):
    """Add each group's totals into `into` (copying, so the inputs are never shared); returns it."""
    for key, totals in groups.items():
        into.setdefault(key, Totals()).add(totals)
    return into
