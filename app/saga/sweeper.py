"""The recovery sweeper: the database says what should be happening; RQ may have lost it.

For every active saga that has been quiet for a grace period (its row unchanged: a step's claim
does not change it, so a long or late attempt counts as quiet and is checked), it finds the one
thing that is wrong (overdue deadline, a step whose worker died, a job that vanished from Redis)
and fixes it in a transaction that holds the saga's lock. Several sweepers may run at once: each
re-checks under the lock, and job ids are deterministic, so a job is only enqueued again when it
is gone.
"""
import logging
from collections import Counter
from datetime import timedelta, timezone

from flask import current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from app import clock
from app.extensions import db, redis_connection, saga_queue
from app.models import Saga
from app.saga import dispatch
from app.saga.journal import lock_saga, record
from app.saga.recovery import diagnose
from app.saga.states import ACTIVE_SAGA

log = logging.getLogger(__name__)
ALIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}


def sweep():
    """Examine the quiet active sagas once; returns how many of each repair were made."""
    grace = timedelta(seconds=current_app.config["SAGA_SWEEP_GRACE"])
    quiet_since = clock.now() - grace
    saga_ids = db.session.execute(
        db.select(Saga.id).where(Saga.status.in_(ACTIVE_SAGA), Saga.updated_at < quiet_since)
        .order_by(Saga.updated_at).limit(current_app.config["SAGA_SWEEP_BATCH"])
    ).scalars().all()
    db.session.rollback()
    repairs = Counter()
    for saga_id in saga_ids:
        try:
            repair = recover(saga_id)
        except Exception:  # one broken saga must not stop the sweep of the others
            log.exception("sweeper could not recover saga %s", saga_id)
            dispatch.rollback()
            continue
        if repair:
            repairs[repair] += 1
    return repairs


def recover(saga_id):
    """Repair one saga if it needs it; returns the repair's name or None."""
    saga = db.session.get(Saga, saga_id)
    if saga is None or diagnose(saga, job_alive) is None:
        dispatch.rollback()
        return None
    saga = lock_saga(saga_id)
    repair = diagnose(saga, job_alive)
    if repair is None:
        dispatch.rollback()
        return None
    record(saga, f"sweeper.{repair.name}", actor="sweeper", detail=repair.detail)
    repair.apply()
    dispatch.commit()
    log.warning("sweeper repaired saga %s: %s", saga_id, repair.name,
                extra={"saga_id": saga_id, "saga_type": saga.type})
    return repair.name


def job_alive(job_id):
    """Whether the job with this id is still queued, scheduled or running in RQ.

    A delayed job overdue by more than the grace period is not (no scheduler is moving it: RQ
    only re-elects one in its maintenance pass), nor is a started job past its timeout by more
    than the grace period (its worker died with it).
    """
    try:
        job = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    grace = timedelta(seconds=current_app.config["SAGA_SWEEP_GRACE"])
    if status == JobStatus.SCHEDULED:
        try:
            due = saga_queue().scheduled_job_registry.get_scheduled_time(job)
        except NoSuchJobError:
            return False
        return _naive_utc(due) + grace > clock.now()
    if status == JobStatus.STARTED and job.started_at is not None and job.timeout:
        return _naive_utc(job.started_at) + timedelta(seconds=job.timeout) + grace > clock.now()
    return status in ALIVE


def _naive_utc(moment):
    """RQ's timestamps as naive UTC, like the engine's clock."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
