"""Work to put on the queue before the workers start, so only processing is timed."""
from rq import Queue
from sqlalchemy import func

from app.extensions import db, redis_connection
from app.models import Saga
from app.saga.submission import start_saga
from bench.noop import JOB_OPTIONS, JOBS_PER_SAGA, SAGA_TYPE, chain, noop

BATCH = 1000


def submit_sagas(app, count, saga_type=SAGA_TYPE):
    """Create `count` sagas the way the API does; each enqueues its first step."""
    with app.app_context():
        for _ in range(count):
            start_saga(saga_type, {})
        db.session.remove()


def enqueue_noops(app, count):
    """Put `count` raw no-op jobs on the saga queue, in pipelined batches."""
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            queue.enqueue_many([Queue.prepare_data(noop, timeout=JOB_OPTIONS["job_timeout"], result_ttl=0,
                                                  failure_ttl=JOB_OPTIONS["failure_ttl"]) for _ in range(size)])


def enqueue_chains(app, count):
    """Put `count` raw chains on the queue: a no-op job that enqueues its successor, six deep."""
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        queue.enqueue_many([Queue.prepare_data(chain, args=(JOBS_PER_SAGA, "bench:chains"),
                                               timeout=JOB_OPTIONS["job_timeout"], result_ttl=0,
                                               failure_ttl=JOB_OPTIONS["failure_ttl"]) for _ in range(count)])


def saga_statuses(app):
    """How many sagas ended in each status."""
    with app.app_context():
        counts = dict(db.session.execute(db.select(Saga.status, func.count()).group_by(Saga.status)).all())
        db.session.remove()
        return counts


def queue_leftovers(app):
    """Jobs still queued or failed after a burst (both should be zero)."""
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        return queue.count, queue.failed_job_registry.count


def flush_redis(app):
    """Empty the benchmark's private Redis between runs."""
    with app.app_context():
        redis_connection().flushdb()
