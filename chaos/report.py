"""What the chaos test prints: the figures of a run, and the state of sagas that got stuck."""
from collections import Counter

from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.scheduler import RQScheduler

QUEUE = "saga"


def figures_block(figures):
    """The figures as an aligned block."""
    width = max(len(name) for name in figures)
    lines = [f"  {name:<{width}}  {value}" for name, value in figures.items()]
    return "\n".join(["", "==== chaos test figures", *lines, "===="])


def describe_stuck(connection, redis_client, saga_ids, limit=8):
    """What the stuck sagas wait for (summed up), then a few in detail: steps, jobs, last events."""
    waits = Counter(_waiting_on(connection, redis_client, saga_id) for saga_id in saga_ids)
    lines = [f"{len(saga_ids)} saga(s) not terminal: {saga_ids[:40]}", *_redis_summary(redis_client),
             *(f"  {count} x {wait}" for wait, count in waits.most_common())]
    for saga_id in saga_ids[:limit]:
        lines.append(f"-- saga {saga_id}: {_waiting_on(connection, redis_client, saga_id)}")
        for index, name, status, attempts, undo, next_retry in connection.execute(
                "SELECT index, name, status, attempts, compensation_attempts, next_retry_at FROM saga_steps "
                "WHERE saga_id = %s ORDER BY index", (saga_id,)):
            lines.append(f"   step {index} {name}: {status} attempts={attempts} undo={undo} "
                         f"next_retry={next_retry}")
        for at, kind, index, source, target, actor, error in reversed(connection.execute(
                "SELECT created_at, type, step_index, from_status, to_status, actor, error FROM saga_events "
                "WHERE saga_id = %s ORDER BY id DESC LIMIT 6", (saga_id,)).fetchall()):
            lines.append(f"   {at:%H:%M:%S.%f} {kind} step={index} {source}->{target} by {actor}"
                         + (f" error={error[:80]}" if error else ""))
    return "\n".join(lines)


def _waiting_on(connection, redis_client, saga_id):
    """The saga's status, the step it is at, and the RQ status of the job that should move it on."""
    status, current = connection.execute(
        "SELECT status, current_step FROM sagas WHERE id = %s", (saga_id,)).fetchone()
    steps = connection.execute("SELECT index, status, attempts, compensation_attempts FROM saga_steps "
                               "WHERE saga_id = %s ORDER BY index", (saga_id,)).fetchall()
    if status == "COMPENSATING":
        undoing = [row for row in steps if row[1] in ("COMPENSATING", "COMPENSATION_RETRYING")]
        if not undoing:
            return "COMPENSATING, no step being undone"
        index, step_status, _, undo = undoing[-1]
        job = f"saga-{saga_id}-{index}-undo-{undo + (step_status == 'COMPENSATION_RETRYING')}"
    else:
        index, step_status, attempts, _ = steps[current]
        job = f"saga-{saga_id}-{index}-run-{attempts + (step_status in ('PENDING', 'RETRYING'))}"
        if step_status == "SUCCEEDED":
            job = f"saga-{saga_id}-complete"
    return f"{status} at step {index} {step_status}, job {_job_status(redis_client, job)}"


def _redis_summary(redis_client):
    """Queue length, scheduled jobs, the scheduler lock's holder and the registered workers."""
    try:
        queue = Queue(QUEUE, connection=redis_client)
        lock = redis_client.get(RQScheduler.get_locking_key(QUEUE))
        workers = [f"{w.name}:{w.get_state()}" for w in Worker.all(connection=redis_client)]
        return [f"redis: {queue.count} queued, {queue.scheduled_job_registry.count} scheduled, "
                f"{queue.started_job_registry.count} started; scheduler lock held by {lock!r}; "
                f"workers {workers}"]
    except Exception as exc:  # diagnosis only: Redis itself may be the problem
        return [f"redis: unreadable ({exc!r})"]


def _job_status(redis_client, job_id):
    """The RQ status of a job, or 'missing'."""
    try:
        return Job.fetch(job_id, connection=redis_client).get_status().value
    except NoSuchJobError:
        return "missing"
    except Exception as exc:  # diagnosis only
        return f"unreadable ({exc!r})"
