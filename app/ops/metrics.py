"""Prometheus metrics read at scrape time from the database (the source of truth) and RQ.

No figure is counted in process memory (the tally only remembers sums of settled history rows),
so every web and worker process reports the same figures, whichever of them is scraped.
"""
import logging

from flask import current_app
from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.extensions import db, redis_connection
from app.models import Saga
from app.ops.history_metrics import history_families
from app.ops.queue_state import job_counts, live_workers
from app.saga.definition import saga_types
from app.saga.states import SagaStatus

log = logging.getLogger(__name__)


class SagaCollector:
    """A prometheus_client collector for one app: each scrape reads the database and RQ."""

    def __init__(self, tally):
        self.tally = tally

    def collect(self):
        """Yield every metric family, fresh from the database and RQ."""
        yield saga_status_family()
        yield from history_families(self.tally.totals())
        yield from queue_families()


def saga_status_family():
    """Sagas by type and status right now (zero for every known type and status)."""
    family = GaugeMetricFamily("saga_sagas", "Sagas by type and current status",
                               labels=["saga_type", "status"])
    counts = dict(((kind, status), n) for kind, status, n in db.session.execute(
        select(Saga.type, Saga.status, func.count()).group_by(Saga.type, Saga.status)))
    kinds = set(saga_types()) | {kind for kind, _ in counts}
    for kind in sorted(kinds):
        for status in SagaStatus:
            family.add_metric([kind, status.value], counts.get((kind, status.value), 0))
    return family


def queue_families():
    """Jobs on the saga queue by state and live workers, from RQ; redis_up says if RQ answered."""
    name = current_app.config["SAGA_QUEUE"]
    up = GaugeMetricFamily("saga_redis_up", "Whether Redis answered this scrape")
    try:
        connection = redis_connection()
        counts, workers = job_counts(connection, name), live_workers(connection, name)
    except RedisError as exc:  # the database figures are still worth serving
        log.warning("metrics: RQ unreachable: %s", exc)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    jobs = GaugeMetricFamily("saga_queue_jobs", "Jobs on the saga queue by state",
                             labels=["queue", "state"])
    for state, count in counts.items():
        jobs.add_metric([name, state], count)
    live = GaugeMetricFamily("saga_workers", "Live RQ workers on the saga queue", labels=["queue"])
    live.add_metric([name], workers)
    return [up, jobs, live]
