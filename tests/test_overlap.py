"""Work done while a Redis request is in flight (app/saga/overlap.py), and the SagaSimpleWorker's
claims and settles done that way (app/saga/handover.py's InProcess).

The connection tests run on fakeredis, which answers a request as it is sent: armed work then
sees the request's effect, which shows it ran after the send. The worker tests run on the
test's Redis (the real server when REDIS_URL is set).
"""
import logging
import sys
import threading

import fakeredis
import pytest
import redis
from rq import Queue
from sqlalchemy import select

import jobs
from app.extensions import db, redis_connection
from app.models import Saga, SagaStep
from app.saga import handover, hotpath, orchestrator, overlap
from app.saga.definition import SagaDefinition, Step, register
from app.saga.errors import TransientError
from app.saga.submission import start_saga
from app.worker import SagaSimpleWorker


@pytest.fixture
def clients():
    """A fake server's plain client, and an overlapping client of the same server, connected.

    (A connection's first request opens it, and the requests that open it run armed work too.)
    """
    plain = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    overlapping = overlap.overlapping(plain)
    overlapping.ping()
    yield plain, overlapping
    overlap.disarm()


def test_armed_work_runs_once_after_the_next_request_is_sent_and_before_its_reply_is_read(clients):
    plain, overlapping = clients
    seen = []
    pending = overlap.while_waiting(lambda: seen.append(plain.get("key")) or "done")
    assert seen == []
    assert overlapping.set("key", "value") is True  # its own reply, read after the work ran
    assert seen == [b"value"]  # the request had reached the server when the work ran
    assert overlapping.get("key") == b"value"
    assert seen == [b"value"] and pending.wait() == "done"


def test_armed_work_runs_during_a_pipeline_too(clients):
    plain, overlapping = clients
    seen = []
    overlap.while_waiting(lambda: seen.append(plain.get("key")))
    with overlapping.pipeline() as pipeline:
        pipeline.set("key", "value").incr("count")
        assert pipeline.execute() == [True, 1]
    assert seen == [b"value"]


def test_wait_runs_work_no_request_has_run_and_disarm_drops_it(clients):
    plain, overlapping = clients
    ran = []
    pending = overlap.while_waiting(lambda: ran.append(1) or len(ran))
    assert pending.wait() == 1
    overlapping.ping()
    assert ran == [1]  # run once only
    overlap.while_waiting(lambda: ran.append(2))
    overlap.disarm()
    overlapping.ping()
    assert ran == [1]


def test_work_is_run_only_by_the_thread_that_armed_it(clients):
    plain, overlapping = clients
    ran = []
    pending = overlap.while_waiting(lambda: ran.append(threading.current_thread().name))
    other = threading.Thread(target=overlapping.ping, name="other")
    other.start()
    other.join()
    assert ran == [] and not pending.done
    overlapping.ping()
    assert ran == [threading.current_thread().name]


def test_an_error_in_the_work_is_kept_for_wait_and_the_request_goes_through(clients):
    plain, overlapping = clients

    def fails():
        raise ValueError("no")
    pending = overlap.while_waiting(fails)
    assert overlapping.set("key", "value") is True
    assert pending.done
    with pytest.raises(ValueError, match="no"):
        pending.wait()


def test_a_signal_in_the_work_goes_up_through_the_request_and_its_reply_is_never_read_as_anothers(clients):
    plain, overlapping = clients

    def interrupted():
        raise KeyboardInterrupt
    overlap.while_waiting(interrupted)
    with pytest.raises(KeyboardInterrupt):
        overlapping.set("key", "value")
    assert overlapping.get("other") is None  # a new connection: not the SET's unread "OK"
    assert overlapping.incr("count") == 1


def test_an_overlapping_client_keeps_the_server_and_options_and_a_pool_it_cannot_copy_is_kept():
    server = fakeredis.FakeServer()
    plain = fakeredis.FakeRedis(server=server, db=3, socket_timeout=7)
    copy = overlap.overlapping(plain)
    assert copy is not plain and copy.connection_pool is not plain.connection_pool
    assert copy.connection_pool.connection_kwargs == plain.connection_pool.connection_kwargs
    copy.set("key", "value")
    assert plain.get("key") == b"value"
    assert fakeredis.FakeRedis(server=server).get("key") is None  # another db
    blocking = redis.Redis(connection_pool=redis.BlockingConnectionPool())
    assert overlap.overlapping(blocking) is blocking
    assert overlap.overlapping(None) is None


# The SagaSimpleWorker: claims and successes settled while RQ's requests are in flight.

def noted(ctx):
    return {"step": ctx.saga_id}


def writes_through_the_session(ctx):
    from app.models import User
    db.session.add(User(name=f"overlap {ctx.saga_id}", email=f"overlap-{ctx.saga_id}@example.com"))
    return {"wrote": True}


def fails_once(ctx):
    if ctx.attempt == 1:
        raise TransientError("not yet")
    return {}


register(SagaDefinition("test_overlap_plain", tuple(Step(f"S{i}", noted) for i in range(3))))
register(SagaDefinition("test_overlap_writes", (Step("Write", writes_through_the_session), Step("Then", noted))))
register(SagaDefinition("test_overlap_retry", (Step("Flaky", fails_once),)))
register(SagaDefinition("test_overlap_pivot", (Step("Point of no return", noted, pivot=True), Step("After", noted))))


def in_flight():
    """Whether the caller runs inside an overlapping connection's request."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is overlap._Overlapping.send_packed_command.__code__:
            return True
        frame = frame.f_back
    return False


@pytest.fixture
def watched(monkeypatch):
    """Where each claim and settle ran: (what, saga_id, index, during a request)."""
    calls = []
    claim, settle = hotpath.claim, orchestrator.settle

    def watched_claim(saga_id, index):
        calls.append(("claim", saga_id, index, in_flight()))
        return claim(saga_id, index)

    def watched_settle(run, outcome):
        calls.append(("settle", run.saga_id, run.index, in_flight()))
        return settle(run, outcome)
    monkeypatch.setattr(hotpath, "claim", watched_claim)
    monkeypatch.setattr(orchestrator, "settle", watched_settle)
    return calls


@pytest.fixture
def handover_log(caplog, monkeypatch):
    """The handover module's log records, at WARNING and above."""
    logger = logging.getLogger("app.saga.handover")
    monkeypatch.setattr(logger, "disabled", False)  # Alembic's fileConfig disables existing loggers
    with caplog.at_level(logging.WARNING, logger=logger.name):
        yield caplog


def start(app, saga_type):
    with app.app_context():
        return start_saga(saga_type, {})[0].id


def work(app):
    """One SagaSimpleWorker burst on the saga queue."""
    with app.app_context():
        connection = redis_connection()
        worker = SagaSimpleWorker([Queue(app.config["SAGA_QUEUE"], connection=connection)], connection=connection)
    worker.work(burst=True, logging_level="WARNING")
    return worker


def steps(app, saga_id):
    with app.app_context():
        return [(step.status, step.attempts) for step in
                db.session.scalars(select(SagaStep).where(SagaStep.saga_id == saga_id).order_by(SagaStep.index))]


def test_a_simple_workers_claims_and_successes_run_while_its_requests_are_in_flight(app, watched):
    first, second = start(app, "test_overlap_plain"), start(app, "test_overlap_plain")
    worker = work(app)
    with app.app_context():
        assert {db.session.get(Saga, saga_id).status for saga_id in (first, second)} == {"COMPLETED"}
    assert steps(app, first) == [("SUCCEEDED", 1)] * 3
    assert sorted(watched) == sorted([(what, saga_id, index, True) for saga_id in (first, second)
                                      for index in range(3) for what in ("claim", "settle")])
    assert issubclass(worker.connection.connection_pool.connection_class, overlap._Overlapping)
    assert worker.queues[0].failed_job_registry.count == 0


def test_a_success_that_wrote_through_the_session_is_settled_in_the_job_with_its_writes(app, watched):
    saga_id = start(app, "test_overlap_writes")
    work(app)
    with app.app_context():
        assert db.session.get(Saga, saga_id).status == "COMPLETED"
        from app.models import User
        assert db.session.scalars(select(User.name).where(User.name == f"overlap {saga_id}")).all()
    assert [(what, index, during) for what, _, index, during in watched] == [
        ("claim", 0, True), ("settle", 0, False), ("claim", 1, True), ("settle", 1, True)]


def test_a_failed_attempt_is_settled_in_the_job(app, watched):
    saga_id = start(app, "test_overlap_retry")
    work(app)  # the retry is due at once here (SAGA_RETRY_DELAY=0), so the burst runs it
    assert steps(app, saga_id) == [("SUCCEEDED", 2)]
    assert [(what, during) for what, _, _, during in watched] == [
        ("claim", True), ("settle", False), ("claim", True), ("settle", True)]


def test_a_settle_that_fails_is_logged_and_left_to_the_sweeper(app, monkeypatch, handover_log):
    saga_id = start(app, "test_overlap_plain")

    def broken(run, outcome):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(orchestrator, "settle", broken)
    worker = work(app)
    assert f"could not settle step 0 of saga {saga_id}; the sweeper will" in handover_log.text
    assert steps(app, saga_id)[0] == ("RUNNING", 1)  # what the sweeper repairs
    assert worker.queues[0].failed_job_registry.count == 0  # the job itself ran


def test_a_claim_not_made_when_its_job_ends_is_never_made(app):
    saga_id = start(app, "test_overlap_plain")
    made = []
    channel = handover.InProcess(lambda *args: made.append(args) or hotpath.claim(*args), orchestrator.settle)
    with app.app_context():
        channel.begin(saga_id, 0)
        channel.end_job("a-job")  # e.g. a stop signal before RQ's first request for the job
        overlap.overlapping(redis_connection()).ping()
    assert made == [] and steps(app, saga_id)[0] == ("PENDING", 0)


def test_a_claim_made_for_a_job_that_stopped_before_taking_it_is_settled_as_a_failed_attempt(app):
    saga_id = start(app, "test_overlap_plain")
    with app.app_context():
        channel = handover.InProcess(hotpath.claim, orchestrator.settle)
        channel.begin(saga_id, 0)
        overlap.overlapping(redis_connection()).ping()  # RQ's request: the claim is made
        channel.end_job("the-job")
        step = db.session.scalars(select(SagaStep).where(SagaStep.saga_id == saga_id, SagaStep.index == 0)).one()
        assert (step.status, step.attempts, step.error_type) == ("RETRYING", 1, "NotStarted")
        assert "the-job stopped before it ran the step" in step.error


def test_a_step_the_hot_path_leaves_to_the_general_claim_is_claimed_and_settled_in_the_job(app, watched):
    saga_id = start(app, "test_overlap_pivot")
    with app.app_context():
        jobs.process_step(saga_id, 0)  # the pivot, run in a job of its own
        db.session.get(Saga, saga_id).cancel_requested = True  # past the pivot: refused, the step runs
        db.session.commit()
    del watched[:]
    work(app)
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        assert (saga.status, saga.cancel_requested) == ("COMPLETED", False)
    assert steps(app, saga_id) == [("SUCCEEDED", 1), ("SUCCEEDED", 1)]
    assert [(what, index, during) for what, _, index, during in watched] == [
        ("claim", 0, True),  # the pivot's first job, still queued: nothing to claim
        ("claim", 1, True), ("settle", 1, False)]  # the hot claim forwarded it to the general one


def test_a_job_whose_data_cannot_be_read_fails_and_the_worker_goes_on(app):
    saga_id = start(app, "test_overlap_plain")
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
        broken = queue.enqueue("jobs.process_step", saga_id, 0)
        redis_connection().hset(broken.key, "data", b"not a pickle")
    worker = work(app)
    assert worker.queues[0].failed_job_registry.get_job_ids() == [broken.id]
    with app.app_context():
        assert db.session.get(Saga, saga_id).status == "COMPLETED"


def test_a_job_handed_a_claim_for_another_step_claims_its_own(app):
    saga_id = start(app, "test_overlap_plain")
    with app.app_context():
        channel = handover.open_in_process(hotpath.claim, orchestrator.settle)
        channel.begin(saga_id, 1)  # not the step the job runs
        jobs.process_step(saga_id, 0)
        channel.end_job("a-job")
        assert steps(app, saga_id)[:2] == [("SUCCEEDED", 1), ("PENDING", 0)]


def test_every_connection_bounds_its_lock_waits(app):
    """A claim or settle a SagaSimpleWorker makes outside RQ's job timeout still cannot hang on a lock."""
    with app.app_context():
        with db.engine.connect() as connection:
            if db.engine.dialect.name == "sqlite":
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            else:
                assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "30s"
                assert connection.exec_driver_sql("SHOW transaction_isolation").scalar() == "read committed"
