"""P3 latency: submission to COMPLETED of one saga on an idle worker, vs chains of six raw jobs."""
import statistics
import time
import uuid

from rq import Queue
from rq.job import JobStatus
from sqlalchemy import inspect, text

from app.extensions import db, redis_connection
from app.saga.submission import start_saga
from bench.load import flush_redis
from bench.noop import JOB_OPTIONS, RAW_CHAIN, SAGA_TYPE, chain, noop
from bench.runner import WorkerProcess
from bench.services import worker_env

POLL_SECONDS = 0.0005
WARM_UP = 3
# RQ needs a finished dependency to outlive its dependents' enqueueing, so keep results a while.
CHAIN_OPTIONS = dict(JOB_OPTIONS, result_ttl=60)


def measure(bench, kind, repeats):
    """Median and 90th-percentile milliseconds per variant, on one idle worker of a kind."""
    app, url = bench.databases.fresh(bench.redis_url)
    flush_redis(app)
    worker = WorkerProcess(kind, app.config["SAGA_QUEUE"], worker_env(url, bench.redis_url),
                           bench.redis_url, "--idle")
    worker.wait_ready()
    worker.go()
    samples = {"saga": [], "dependent": [], "self-enqueued": []}
    try:
        with app.app_context():
            queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
            variants = {"saga": lambda: _saga(), "dependent": lambda: _dependent_chain(queue),
                        "self-enqueued": lambda: _self_enqueued_chain(queue)}
            for round_ in range(WARM_UP + repeats):
                for name, variant in variants.items():
                    seconds = variant()
                    if round_ >= WARM_UP:
                        samples[name].append(seconds * 1000)
            db.session.remove()
    finally:
        worker.stop()
        worker.report()
    return {name: (statistics.median(values), _p90(values)) for name, values in samples.items()}


def _saga():
    """Seconds from start_saga to the saga's row saying COMPLETED."""
    started = time.perf_counter()
    saga, _ = start_saga(SAGA_TYPE, {})
    saga_id = inspect(saga).identity[0]
    query = text("SELECT status FROM sagas WHERE id = :id")

    def completed():
        with db.engine.connect() as connection:
            return connection.execute(query, {"id": saga_id}).scalar() == "COMPLETED"

    _wait(completed)
    return time.perf_counter() - started


def _dependent_chain(queue):
    """Seconds from enqueueing six jobs, each depending on the one before, to the last finishing."""
    started = time.perf_counter()
    job = None
    for _ in range(RAW_CHAIN):
        job = queue.enqueue(noop, depends_on=job, **CHAIN_OPTIONS)
    _wait(lambda: job.get_status(refresh=True) == JobStatus.FINISHED)
    return time.perf_counter() - started


def _self_enqueued_chain(queue):
    """Seconds from enqueueing a job that enqueues its successor, six deep, to the last one's mark."""
    started = time.perf_counter()
    done_key = f"bench:done:{uuid.uuid4().hex}"
    queue.enqueue(chain, RAW_CHAIN, done_key, **JOB_OPTIONS)
    _wait(lambda: queue.connection.llen(done_key))
    return time.perf_counter() - started


def _wait(condition, timeout=30.0):
    """Poll until the condition holds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("latency probe: work did not finish within 30 s")
        time.sleep(POLL_SECONDS)


def _p90(values):
    """The 90th percentile."""
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]
