"""Commit, then enqueue: jobs asked for inside a transaction go to RQ only after it commits."""
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError

from app.extensions import db, saga_queue

log = logging.getLogger(__name__)

_KEY = "saga_jobs"


@dataclass(frozen=True)
class JobRequest:
    """A job to enqueue once the transaction that asked for it has committed."""

    function: str
    args: tuple
    timeout: int
    delay: float = 0.0
    description: str = ""


def request_job(function, *args, timeout, delay=0.0, description=""):
    """Ask for `jobs.<function>(*args)` to run after the current transaction commits."""
    pending = db.session.info.setdefault(_KEY, [])
    pending.append(JobRequest(f"jobs.{function}", args, int(timeout), delay, description))


def commit():
    """Commit the transaction, then enqueue the jobs it asked for.

    A crash or a Redis error after the commit leaves the saga waiting for a job that was never
    enqueued; the sweeper finds such sagas from the database and enqueues the job again.
    """
    pending = db.session.info.pop(_KEY, [])
    db.session.commit()
    for job in pending:
        try:
            enqueue(job)
        except RedisError:
            log.exception("could not enqueue %s%s; the sweeper will retry it", job.function, job.args)


def rollback():
    """Roll back the transaction and forget the jobs it asked for."""
    db.session.info.pop(_KEY, None)
    db.session.rollback()


def enqueue(job):
    """Put one job on the saga queue, now or after its delay via RQ's scheduler."""
    options = dict(
        args=job.args,
        job_timeout=job.timeout,
        result_ttl=0,
        failure_ttl=current_app.config["SAGA_FAILURE_TTL"],
        description=job.description or None,
    )
    queue = saga_queue()
    if job.delay > 0:
        return queue.enqueue_in(timedelta(seconds=job.delay), job.function, **options)
    return queue.enqueue(job.function, **options)
