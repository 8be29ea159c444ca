"""Worker memory: peak resident memory of one SimpleWorker-style process after few and many sagas."""
import time

from app.saga.states import ACTIVE_SAGA
from bench.load import flush_redis, saga_statuses, submit_sagas
from bench.noop import JOBS_PER_SAGA
from bench.runner import WorkerProcess
from bench.services import worker_env

ACTIVE = {status.value for status in ACTIVE_SAGA}


def measure(bench, kind, few, many):
    """Peak and current RSS (MiB) once `few` sagas are done, then once `many` are; one worker."""
    app, url = bench.databases.fresh(bench.redis_url)
    flush_redis(app)
    marks = f"{few * JOBS_PER_SAGA},{many * JOBS_PER_SAGA}"
    worker = WorkerProcess(kind, app.config["SAGA_QUEUE"], worker_env(url, bench.redis_url),
                           bench.redis_url, "--idle", "--marks", marks)
    worker.wait_ready()
    worker.go()
    try:
        submit_sagas(app, few)
        _wait_settled(app)
        submit_sagas(app, many - few)  # the worker runs the first ones while these are created
        statuses = _wait_settled(app)
    finally:
        worker.stop()
    report = worker.report()
    if statuses != {"COMPLETED": many}:
        raise RuntimeError(f"memory run: sagas ended {statuses}, not all COMPLETED")
    return {int(jobs) // JOBS_PER_SAGA: {key: kb / 1024 for key, kb in sample.items()}
            for jobs, sample in report.memory_at.items()}


def _wait_settled(app, timeout=3600):
    """Wait until no saga is pending, running or compensating; returns the statuses."""
    deadline = time.monotonic() + timeout
    while ACTIVE & set(statuses := saga_statuses(app)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"memory run: sagas still active after {timeout} s: {statuses}")
        time.sleep(0.5)
    return statuses
