"""Embedded mode: an RQ worker and scheduler in threads of the web process, on in-process Redis."""
import logging
import threading
import time

from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

import jobs
from app.extensions import redis_connection

log = logging.getLogger(__name__)
SCHEDULER_TICK = 1.0
LOCK_REFRESH = 30.0
PRUNE_INTERVAL = 3600.0


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that lives in a thread: timer-based timeouts and no signal handlers."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        """Signals belong to the main thread; the web server handles them."""


def start(app):
    """Start the worker and scheduler threads once per app; returns the worker."""
    if "embedded_worker" in app.extensions:
        return app.extensions["embedded_worker"]
    jobs.bind_app(app)
    with app.app_context():
        connection = redis_connection()
    queue = Queue(app.config["SAGA_QUEUE"], connection=connection)
    worker = ThreadWorker([queue], connection=connection)
    threading.Thread(target=worker.work, kwargs={"logging_level": "WARNING"},
                     name="saga-worker", daemon=True).start()
    threading.Thread(target=_schedule, args=(queue, connection, app.config["SAGA_SWEEP_INTERVAL"]),
                     name="saga-scheduler", daemon=True).start()
    app.extensions["embedded_worker"] = worker
    return worker


def _schedule(queue, connection, sweep_interval):
    """Move due delayed jobs onto the queue every second; sweep and prune periodically."""
    scheduler = RQScheduler([queue], connection=connection)
    refreshed = swept = pruned = 0.0
    while True:
        try:
            if time.monotonic() - refreshed > LOCK_REFRESH:
                scheduler.acquire_locks()
                refreshed = time.monotonic()
            scheduler.enqueue_scheduled_jobs()
            if time.monotonic() - swept > sweep_interval:
                queue.enqueue("jobs.sweep", result_ttl=60, job_timeout=300)
                swept = time.monotonic()
            if time.monotonic() - pruned > PRUNE_INTERVAL:
                queue.enqueue("jobs.prune", result_ttl=60, job_timeout=900)
                pruned = time.monotonic()
        except Exception:  # keep scheduling whatever one tick did
            log.exception("embedded scheduler tick failed")
        time.sleep(SCHEDULER_TICK)
