"""The engine writes its immediate jobs itself (dispatch.write): the same hash RQ's enqueue writes."""
import zlib

from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.utils import utcparse

from app.extensions import redis_connection, saga_queue
from app.saga import dispatch

TIMES = ("created_at", "enqueued_at")
NOT_BYTE_FOR_BYTE = (*TIMES, "data")  # the data is a stored zlib block, not deflated: compared inflated
RAN = []


def record(*args):
    """A job function for these tests: remembers its arguments."""
    RAN.append(args)


def rq_enqueued(queue, request):
    """The job as RQ's own `enqueue_job` writes it, with the engine's options."""
    options = dispatch._options(request)
    job = queue.create_job(request.function, **options)
    with queue.connection.pipeline() as pipeline:
        queue.enqueue_job(job, pipeline=pipeline)
        pipeline.execute()
    return job


def stored(queue, job_id):
    return queue.connection.hgetall(queue.job_class.key_for(job_id))


def test_a_written_job_is_the_hash_rq_writes_field_for_field(app):
    with app.app_context():
        queue = saga_queue()
        for described in (True, False):  # without a description, RQ's default: the call
            ours = dispatch.JobRequest("jobs.process_step", (7, 3), 45, f"ours-{described}",
                                       description="order #7 S4" if described else "")
            theirs = dispatch.JobRequest("jobs.process_step", (7, 3), 45, f"theirs-{described}",
                                         description=ours.description)
            dispatch.enqueue(ours)
            rq_enqueued(queue, theirs)
            mine, rqs = stored(queue, ours.job_id), stored(queue, theirs.job_id)
            assert mine.keys() == rqs.keys()
            assert {k: v for k, v in mine.items() if k.decode() not in NOT_BYTE_FOR_BYTE} == \
                   {k: v for k, v in rqs.items() if k.decode() not in NOT_BYTE_FOR_BYTE}
            assert zlib.decompress(mine[b"data"]) == zlib.decompress(rqs[b"data"])
            assert len(mine[b"data"]) <= len(rqs[b"data"]) + 16  # stored, not deflated: a few bytes more
            for field in TIMES:  # RQ's time format
                assert abs((utcparse(mine[field.encode()].decode())
                            - utcparse(rqs[field.encode()].decode())).total_seconds()) < 60
        assert queue.job_ids == ["ours-True", "theirs-True", "ours-False", "theirs-False"]
        assert queue.key.encode() in queue.connection.smembers(Queue.redis_queues_keys)
        job = Job.fetch("ours-False", connection=queue.connection)
        assert (job.func_name, job.args, job.kwargs) == ("jobs.process_step", (7, 3), {})
        assert job.description == "jobs.process_step(7, 3)"
        assert (job.timeout, job.result_ttl, job.failure_ttl, job.origin) == \
               (45, 0, app.config["SAGA_FAILURE_TTL"], queue.name)
        assert job.get_status() == JobStatus.QUEUED


def test_a_worker_runs_a_written_job_and_keeps_no_result(app):
    RAN.clear()
    with app.app_context():
        queue = saga_queue()
        request = dispatch.JobRequest(f"{__name__}.record", (1, "two"), 30, "written-1")
        dispatch.write_now(*dispatch.destined(request))
        SimpleWorker([queue], connection=redis_connection()).work(burst=True, logging_level="WARNING")
        assert RAN == [(1, "two")]
        assert queue.count == 0 and queue.failed_job_registry.count == 0
        assert queue.fetch_job("written-1") is None  # result_ttl=0: gone once it succeeded


def test_a_written_job_resets_what_rqs_enqueue_resets_of_an_earlier_job_with_its_id(app):
    with app.app_context():
        queue = saga_queue()
        key = queue.job_class.key_for("again-1")
        queue.connection.hset(key, mapping={"status": "failed", "started_at": "2026-01-01T00:00:00.000000Z",
                                            "worker_name": "gone", "description": "old"})
        dispatch.enqueue(dispatch.JobRequest("jobs.process_step", (1, 0), 30, "again-1", description="new"))
        job = Job.fetch("again-1", connection=queue.connection)
        assert (job.get_status(), job.started_at, job.worker_name, job.description) == \
               (JobStatus.QUEUED, None, None, "new")


def test_the_data_is_a_zlib_stream_of_any_size_and_the_script_quotes_any_queue_name(app):
    for data in (b"", b"x", bytes(range(256)) * 3, b"y" * 0xFFFF, b"z" * 0x10000):
        assert zlib.decompress(dispatch._stored(data)) == data
    with app.app_context():
        queue = Queue("it's \\ odd]] é", connection=redis_connection())
        dispatch.write_now(queue, dispatch.JobRequest("jobs.process_step", (7, 3), 45, "odd-one"), 60)
        assert "odd" not in dispatch._script(queue.name, 60).decode()  # every byte escaped
        assert queue.job_ids == ["odd-one"]
        assert queue.key.encode() in queue.connection.smembers(Queue.redis_queues_keys)
        job = Job.fetch("odd-one", connection=queue.connection)
        assert (job.origin, job.failure_ttl, job.args) == (queue.name, 60, (7, 3))
