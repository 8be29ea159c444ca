"""What RQ holds for the saga queue: jobs by state and live workers, read without side effects."""
from rq import Queue, Worker

# RQ's registries clean themselves up when counted through `.count` (the started registry even
# fails or retries abandoned jobs); a scrape or a probe must only look, so counts skip cleanup.
REGISTRIES = {
    "scheduled": "scheduled_job_registry",
    "started": "started_job_registry",
    "deferred": "deferred_job_registry",
    "failed": "failed_job_registry",
}


def job_counts(connection, queue_name):
    """Jobs on the queue by state: queued, scheduled, started, deferred, failed."""
    queue = Queue(queue_name, connection=connection)
    counts = {"queued": queue.count}
    for state, attribute in REGISTRIES.items():
        counts[state] = getattr(queue, attribute).get_job_count(cleanup=False)
    return counts


def live_workers(connection, queue_name):
    """Workers registered on the queue whose heartbeat key has not expired."""
    keys = Worker.all_keys(queue=Queue(queue_name, connection=connection))
    return connection.exists(*keys) if keys else 0
