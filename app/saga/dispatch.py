"""Commit, then enqueue: jobs asked for inside a transaction go to RQ only after it commits."""
import functools
import logging
import struct
import threading
import zlib
from contextlib import contextmanager
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from rq.job import JobStatus
from rq.utils import get_call_string, now, parse_timeout, utcformat

from app.extensions import db, saga_queue
from app.saga import journal
from app.saga.definition import get_definition

log = logging.getLogger(__name__)

_KEY = "saga_jobs"
_handoff = threading.local()


class JobRequest(NamedTuple):
    """A job to enqueue once the transaction that asked for it has committed.

    Its id names the saga, step, phase and attempt, so the sweeper can tell whether the job
    that should be carrying a saga forward still exists.
    """

    function: str
    args: tuple
    timeout: int
    job_id: str
    delay: float = 0.0
    description: str = ""


def step_job_id(saga_id, index, attempt):
    """Id of the job that runs one attempt of a step."""
    return f"saga-{saga_id}-{index}-run-{attempt}"


def compensation_job_id(saga_id, index, attempt):
    """Id of the job that runs one attempt of a step's compensation."""
    return f"saga-{saga_id}-{index}-undo-{attempt}"


def completion_job_id(saga_id):
    """Id of the job that completes a saga."""
    return f"saga-{saga_id}-complete"


def request_step(saga, index, attempt, delay=0.0):
    """Ask for attempt number `attempt` of a step once the current transaction commits."""
    _request(step_job(saga.id, saga.type, index, attempt, delay))


def step_job(saga_id, saga_type, index, attempt, delay=0.0):
    """The job that runs one attempt of a step."""
    definition = get_definition(saga_type).step(index)
    return JobRequest("jobs.process_step", (saga_id, index), definition.timeout_seconds(),
                      step_job_id(saga_id, index, attempt), delay, f"{saga_type} #{saga_id} {definition.name}")


def request_compensation(saga, index, attempt, delay=0.0):
    """Ask for attempt number `attempt` of a step's compensation once the transaction commits."""
    definition = get_definition(saga.type).step(index)
    _request(JobRequest("jobs.compensate_step", (saga.id, index), definition.timeout_seconds(),
                        compensation_job_id(saga.id, index, attempt), delay,
                        f"{saga.type} #{saga.id} undo {definition.name}"))


def request_completion(saga):
    """Ask for the saga's completion once the transaction commits."""
    _request(completion_job(saga.id, saga.type))


def completion_job(saga_id, saga_type):
    """The job that completes a saga."""
    timeout = get_definition(saga_type).steps[-1].timeout_seconds()
    return JobRequest("jobs.complete_saga", (saga_id,), timeout, completion_job_id(saga_id),
                      description=f"{saga_type} #{saga_id} complete")


def _request(job):
    """Keep a job to enqueue after the commit."""
    db.session.info.setdefault(_KEY, []).append(job)


def commit():
    """Commit the transaction, then enqueue the jobs it asked for.

    A crash or a Redis error after the commit leaves the saga waiting for a job that was never
    enqueued; the sweeper finds such sagas from the database and enqueues the job again.
    """
    pending = db.session.info.pop(_KEY, [])
    db.session.commit()
    journal.flush_log()
    send(pending)


def send(jobs):
    """Enqueue jobs whose transaction has committed (or hand them off: see `handing_off`)."""
    handed_off = getattr(_handoff, "jobs", None)
    for job in jobs:
        if handed_off is not None and not job.delay:
            handed_off.append(destined(job))
            continue
        try:
            enqueue(job)
        except RedisError:
            log.exception("could not enqueue %s; the sweeper will enqueue it again", job.job_id,
                          extra={"saga_id": job.args[0]})


def rollback():
    """Roll back the transaction and forget the jobs it asked for."""
    db.session.info.pop(_KEY, None)
    journal.discard_log()
    db.session.rollback()


@contextmanager
def handing_off():
    """Collect this thread's immediate jobs, as `destined` gives them, instead of enqueueing them.

    The saga worker classes (app/worker.py) use it to write a step's successor (`write(pipeline,
    *destined)`) in the same Redis transaction that records the step job's end, instead of in
    round trips of its own.
    """
    outer, _handoff.jobs = getattr(_handoff, "jobs", None), []
    try:
        yield _handoff.jobs
    finally:
        _handoff.jobs = outer


def enqueue(job):
    """Put one job on the saga queue, now or after its delay via RQ's scheduler."""
    if job.delay > 0:
        options = _options(job)
        options["job_timeout"] = options.pop("timeout")
        saga_queue().enqueue_in(timedelta(seconds=job.delay), job.function, **options)
    else:
        write_now(*destined(job))


class Destined(NamedTuple):
    """A job with what `write` needs of the app, so that it can be written outside its context."""

    queue: Queue
    job: JobRequest
    failure_ttl: int


def destined(job):
    """The job, bound for the current app's saga queue."""
    return Destined(saga_queue(), job, current_app.config["SAGA_FAILURE_TTL"])


def write_now(queue, job, failure_ttl):
    """`write` a job now, in one round trip (a script runs whole, like a Redis transaction)."""
    write(queue.connection, queue, job, failure_ttl)


def write(redis, queue, job, failure_ttl):
    """Queue an immediate job, or add it to a pipeline: the hash and queue entry RQ's enqueue writes.

    RQ's `Queue.enqueue_job` builds a Job object to write the same, in four commands (it writes
    the status twice). Every step job but a saga's last enqueues a successor, and RQ's way cost
    about a quarter of what a step job adds to the RQ job carrying it, so the job is written
    here directly, by one script (`_script`): redis-py packs every argument in Python, and most
    of the successor's cost was packing the hash's 17 fields. The queue's name and failure TTL
    are written into the script itself (its keys are passed, as Redis asks of a script's keys),
    and the rest goes as bytes: redis-py takes bytes as they are, but runs a chain of type
    checks to encode anything else. tests/test_dispatch.py checks that the hash is the one RQ
    writes, field for field, with whichever RQ the requirements install, and that an RQ worker
    runs the job.
    """
    job_id, description = job.job_id, job.description or get_call_string(job.function, job.args, {}, max_length=75)
    redis.eval(_script(queue.name, failure_ttl), b"3", queue.job_class.key_for(job_id).encode(),
               queue.key.encode(), queue.redis_queues_keys.encode(), utcformat(now()).encode(),
               _stored(queue.serializer.dumps((job.function, None, job.args, {}))), description.encode(),
               b"%d" % parse_timeout(job.timeout), job_id.encode())


def _stored(data):
    """A job's data as a zlib stream, as RQ keeps it, in one stored (uncompressed) block.

    A step job's data is a few dozen bytes, which deflate hardly shortens, and setting up
    `zlib.compress` for them cost more than writing the whole hash (about 24,000 instructions
    a job, with its smallest window): the stream is built here instead, a few bytes longer.
    RQ's `zlib.decompress` reads it as any other.
    """
    if len(data) > 0xFFFF:  # more than a stored block holds: an engine job never has such arguments
        return zlib.compress(data)
    return b"".join((_STORED_HEADER, _BLOCK.pack(len(data), len(data) ^ 0xFFFF), data,
                     _ADLER.pack(zlib.adler32(data))))


_STORED_HEADER = b"\x78\x01\x01"  # zlib's header (deflate, no preset dictionary), then a final stored block
_BLOCK, _ADLER = struct.Struct("<HH"), struct.Struct(">I")  # the block's length and its complement; the checksum


@functools.lru_cache(maxsize=64, typed=True)
def _script(origin, failure_ttl):
    """`_WRITE` for one queue: its name and its jobs' failure TTL written in as Lua strings."""
    return _WRITE.format(origin=_lua(origin), failure_ttl=_lua("%d" % failure_ttl)).encode()


def _lua(text):
    """A Lua string literal of any text: every byte as a decimal escape, so nothing needs quoting."""
    return "'" + "".join(f"\\{byte}" for byte in text.encode()) + "'"


# The fields RQ's `Job.to_dict` gives such a job (the unset ones as the empty strings RQ writes),
# after registering the queue as RQ's enqueue does; then the push.
_WRITE = f"""
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('HSET', KEYS[1], 'created_at', ARGV[1], 'data', ARGV[2],
    'success_callback_name', '', 'failure_callback_name', '', 'stopped_callback_name', '',
    'started_at', '', 'ended_at', '', 'last_heartbeat', '', 'worker_name', '', 'group_id', '',
    'origin', {{origin}}, 'description', ARGV[3], 'enqueued_at', ARGV[1],
    'timeout', ARGV[4], 'result_ttl', '0', 'failure_ttl', {{failure_ttl}}, 'status', '{JobStatus.QUEUED.value}')
redis.call('RPUSH', KEYS[2], ARGV[5])
"""


def _options(job):
    """How the engine's jobs are kept: no result (the outcome is in the database), failures a while."""
    return dict(args=job.args, timeout=job.timeout, result_ttl=0,
                failure_ttl=current_app.config["SAGA_FAILURE_TTL"], description=job.description or None,
                job_id=job.job_id)
