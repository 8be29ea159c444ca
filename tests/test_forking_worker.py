"""The forking SagaWorker: its bookkeeper claims and settles, the work horse runs the action.

These run a real `app.worker.SagaWorker`, which forks a work horse per job. The horses reach
Redis over TCP: the real server when REDIS_URL is set, otherwise a fakeredis TCP server in this
process (an in-memory fake cannot be shared with a forked child).
"""
import os
import signal
import threading
import time
from datetime import timedelta

import fakeredis
import pytest
from rq import Queue, Worker
from sqlalchemy import select

from app import clock
from app.extensions import db, redis_connection
from app.models import Product, Saga, SagaEvent, SagaStep
from app.saga import bookkeeper, dispatch, handover, hotpath, orchestrator, sweeper
from app.saga.definition import SagaDefinition, Step, register
from app.saga.errors import TransientError
from app.saga.execution import Outcome
from app.saga.submission import start_saga
from app.worker import SagaWorker
from tests.conftest import fresh_app


def where_it_ran(ctx):
    """Where the action ran, and what connection pool it found there."""
    return {"pid": os.getpid(), "idle_connections": db.engine.pool.checkedin()}


def restock(ctx):
    """An action that writes through the session: its write must commit with its success."""
    product = db.session.get(Product, ctx.payload["product_id"])
    product.stock += 1
    return {"pid": os.getpid()}


def flaky(ctx):
    """Fails its first attempt with a transient error."""
    if ctx.attempt == 1:
        raise TransientError("try again")
    return {"attempt": ctx.attempt}


def dies_once(ctx):
    """Kills its first attempt's horse mid-action."""
    if ctx.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # the horse dies mid-action, handing nothing back
    return {"attempt": ctx.attempt}


def counted(ctx):
    """Appends a line per run to the file the payload names."""
    with open(ctx.payload["runs"], "a") as runs:
        runs.write(f"{ctx.attempt}\n")
    return {}


def slow_once(ctx):
    """Overruns its step timeout on the first attempt."""
    if ctx.attempt == 1:
        time.sleep(5)
    return {"attempt": ctx.attempt}


def stops_the_worker(ctx):
    """Asks the worker (this horse's parent) for a warm shutdown, as a deploy does."""
    os.kill(os.getppid(), signal.SIGTERM)
    time.sleep(0.3)  # the worker takes the signal while this job is running
    return {}


register(SagaDefinition("test_fork_plain", (Step("A", where_it_ran), Step("B", where_it_ran),
                                            Step("C", where_it_ran))))
register(SagaDefinition("test_fork_writes", (Step("Read", where_it_ran), Step("Restock", restock))))
register(SagaDefinition("test_fork_flaky", (Step("Flaky", flaky), Step("Then", where_it_ran))))
register(SagaDefinition("test_fork_dies", (Step("Dies", dies_once),)))
register(SagaDefinition("test_fork_counted", (Step("Counted", counted), Step("Then", where_it_ran))))
register(SagaDefinition("test_fork_slow", (Step("Slow", slow_once, timeout=1), Step("Then", where_it_ran))))
register(SagaDefinition("test_fork_stops", (Step("Stops", stops_the_worker), Step("Then", where_it_ran))))


@pytest.fixture
def redis_url(monkeypatch):
    """The real Redis when configured, else a fakeredis server on a TCP port of this process."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    # The fake's CLIENT INFO reply is one redis-py cannot parse; RQ only reads an address from it.
    monkeypatch.setattr(SagaWorker, "_set_ip_address", lambda worker, connection: setattr(worker, "ip_address", "fake"))
    server = fakeredis.TcpFakeServer(("127.0.0.1", 0), server_type="redis")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.server_address[1]}/0"
    server.shutdown()
    server.server_close()


@pytest.fixture
def forking_app(tmp_path, redis_url):
    """The usual test app, on a Redis that forked horses can reach; steps get time to spare."""
    with fresh_app(tmp_path, REDIS_URL=redis_url, SAGA_STEP_TIMEOUT=10) as app:
        yield app


@pytest.fixture
def settles(monkeypatch, tmp_path):
    """Every settle, in any process: returns a function listing (pid, saga, step, attempt, ok)."""
    record, settle = tmp_path / "settles", orchestrator.settle

    def recording(run, outcome):
        with open(record, "a") as out:  # appends from several processes
            out.write(f"{os.getpid()} {run.saga_id} {run.step_name} {run.attempt} {int(outcome.ok)}\n")
        return settle(run, outcome)

    monkeypatch.setattr(orchestrator, "settle", recording)

    def listed():
        if not record.exists():
            return []
        return [(int(pid), int(saga_id), name, int(attempt), ok == "1")
                for pid, saga_id, name, attempt, ok in (line.split() for line in record.read_text().splitlines())]
    return listed


def work(app):
    """Run a forking SagaWorker in burst mode until the queue is empty; returns the failed job ids."""
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with app.app_context():
            queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
            SagaWorker([queue], connection=redis_connection()).work(burst=True, logging_level="WARNING")
            return queue.failed_job_registry.get_job_ids()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def start(app, saga_type, payload=None):
    with app.app_context():
        return start_saga(saga_type, payload or {})[0].id


def saga_state(app, saga_id):
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        steps = db.session.execute(select(SagaStep).where(SagaStep.saga_id == saga_id)
                                   .order_by(SagaStep.index)).scalars().all()
        return saga.status, [(step.name, step.status, step.attempts, step.result) for step in steps]


def events(app, saga_id):
    with app.app_context():
        return [(event.type, event.step_name, event.attempt) for event in db.session.execute(
            select(SagaEvent).where(SagaEvent.saga_id == saga_id).order_by(SagaEvent.id)).scalars()]


def test_the_bookkeeper_claims_and_settles_and_the_horse_only_runs_the_action(forking_app, settles):
    first, second = start(forking_app, "test_fork_plain"), start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    horses = set()
    for saga_id in (first, second):
        status, steps = saga_state(forking_app, saga_id)
        assert status == "COMPLETED"
        assert [(name, state, attempts) for name, state, attempts, _ in steps] == \
            [("A", "SUCCEEDED", 1), ("B", "SUCCEEDED", 1), ("C", "SUCCEEDED", 1)]
        for *_, result in steps:
            horses.add(result["pid"])
            assert result["idle_connections"] == 0  # the horse's pool started empty
        assert events(forking_app, saga_id) == [
            ("saga.created", None, None), ("step.started", "A", 1), ("saga.started", None, None),
            ("step.succeeded", "A", 1), ("step.started", "B", 1), ("step.succeeded", "B", 1),
            ("step.started", "C", 1), ("step.succeeded", "C", 1), ("saga.completed", None, None)]
    assert len(horses) == 6 and os.getpid() not in horses  # one horse per job
    settled = settles()
    assert sorted(entry[1:] for entry in settled) == sorted(
        (saga_id, name, 1, True) for saga_id in (first, second) for name in "ABC")
    settlers = {entry[0] for entry in settled}
    assert len(settlers) == 1 and settlers.isdisjoint(horses | {os.getpid()})  # all in the one bookkeeper


def test_a_burst_worker_waits_for_the_settles_it_sent_before_it_stops(forking_app, monkeypatch, tmp_path):
    # The worker does not wait for a settle, and a settle enqueues the step's successor: slowed
    # down, the settle is still under way when the worker finds the queue empty.
    settle, slowed = orchestrator.settle, tmp_path / "slowed"

    def slow(run, outcome):
        time.sleep(0.3)
        slowed.write_text(str(os.getpid()))
        return settle(run, outcome)

    monkeypatch.setattr(orchestrator, "settle", slow)
    saga_id = start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED" and [step[1] for step in steps] == ["SUCCEEDED"] * 3
    assert int(slowed.read_text()) not in {os.getpid()} | {step[3]["pid"] for step in steps}  # the bookkeeper's


def test_an_action_that_writes_through_the_session_is_settled_in_its_horse(forking_app, settles):
    with forking_app.app_context():
        product = Product(sku="P", name="Widget", price_cents=100, stock=3, reserved=0)
        db.session.add(product)
        db.session.commit()
        product_id = product.id
    saga_id = start(forking_app, "test_fork_writes", {"product_id": product_id})
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    with forking_app.app_context():
        assert db.session.get(Product, product_id).stock == 4  # committed with the step's success
    (read, read_by), (restock, restock_by) = [(entry[2], entry[0]) for entry in settles()]
    assert (read, restock) == ("Read", "Restock")
    assert read_by != steps[0][3]["pid"]  # the bookkeeper settled Read
    assert restock_by == steps[1][3]["pid"]  # Restock's own horse did, in its transaction


def test_a_failed_attempt_handed_back_is_retried(forking_app, settles):
    saga_id = start(forking_app, "test_fork_flaky")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][:3] == ("Flaky", "SUCCEEDED", 2)
    assert ("step.retry_scheduled", "Flaky", 1) in events(forking_app, saga_id)
    assert (saga_id, "Flaky", 1, False) in [entry[1:] for entry in settles()]


def test_a_horse_that_dies_mid_action_leaves_its_step_to_the_sweeper(forking_app, settles, monkeypatch):
    saga_id = start(forking_app, "test_fork_dies")
    other = start(forking_app, "test_fork_plain")
    failed = work(forking_app)
    assert len(failed) == 1  # RQ records the dead horse; the worker itself carries on
    assert saga_state(forking_app, other)[0] == "COMPLETED"
    status, steps = saga_state(forking_app, saga_id)
    assert (status, steps[0][1:3]) == ("RUNNING", ("RUNNING", 1))
    assert all(entry[1] != saga_id for entry in settles())
    later, real_now = timedelta(seconds=forking_app.config["SAGA_SWEEP_GRACE"] + 120), clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + later)
    with forking_app.app_context():
        assert dict(sweeper.sweep())
    monkeypatch.setattr(clock, "now", real_now)
    work(forking_app)
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][1:3] == ("SUCCEEDED", 2)


def test_if_the_bookkeeper_cannot_claim_the_horse_claims_for_itself(forking_app, settles, monkeypatch):
    handle = bookkeeper._handle

    def cannot_claim(kind, *args):
        if kind == "claim":
            raise RuntimeError("database unavailable")
        return handle(kind, *args)

    monkeypatch.setattr(bookkeeper, "_handle", cannot_claim)
    saga_id = start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert [entry[0] for entry in settles()] == [step[3]["pid"] for step in steps]  # each horse settled its own


def test_a_settle_the_database_refused_is_tried_once_more(forking_app, monkeypatch, tmp_path):
    rowcount, refused = hotpath._SUCCEED.rowcount, tmp_path / "refused"
    with forking_app.app_context():
        driver_error = db.engine.dialect.loaded_dbapi.OperationalError  # sqlite3's or psycopg's

    def refuses_once(cursor, values, dialect):
        if not refused.exists():
            refused.write_text(str(os.getpid()))
            raise driver_error("connection lost")  # as the driver raises it, past SQLAlchemy
        return rowcount(cursor, values, dialect)

    monkeypatch.setattr(hotpath._SUCCEED, "rowcount", refuses_once)
    saga_id = start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert [step[1:3] for step in steps] == [("SUCCEEDED", 1)] * 3
    assert int(refused.read_text()) not in {os.getpid()} | {step[3]["pid"] for step in steps}  # the bookkeeper's


def test_a_claimed_step_whose_horse_could_not_be_forked_is_retried(forking_app, settles, monkeypatch):
    fork, forks = Worker.fork_work_horse, []

    def fails_first(worker, job, queue):
        forks.append(job.id)
        if len(forks) == 1:
            raise OSError(12, "Cannot allocate memory")
        return fork(worker, job, queue)

    monkeypatch.setattr(Worker, "fork_work_horse", fails_first)
    saga_id = start(forking_app, "test_fork_plain")
    work(forking_app)  # RQ's worker quits on the error, as it does without a bookkeeper
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][1:3] == ("SUCCEEDED", 2)
    assert (saga_id, "A", 1, False) in [entry[1:] for entry in settles()]
    with forking_app.app_context():
        retried = db.session.execute(select(SagaEvent).where(SagaEvent.saga_id == saga_id,
                                                             SagaEvent.type == "step.retry_scheduled")).scalar_one()
        assert retried.error_type == "NotStarted"


def test_a_second_delivery_of_a_step_job_does_not_run_the_action_again(forking_app, tmp_path):
    runs = tmp_path / "runs"
    saga_id = start(forking_app, "test_fork_counted", {"runs": str(runs)})
    with forking_app.app_context():
        dispatch.enqueue(dispatch.step_job(saga_id, "test_fork_counted", 0, 1))  # RQ delivers it again
    assert work(forking_app) == []
    assert saga_state(forking_app, saga_id)[0] == "COMPLETED"
    assert runs.read_text() == "1\n"  # the bookkeeper's claim found the step taken: that horse did nothing


def test_a_saga_past_its_deadline_is_stopped_by_the_bookkeeper_before_its_step(forking_app, tmp_path):
    runs = tmp_path / "runs"
    saga_id = start(forking_app, "test_fork_counted", {"runs": str(runs)})
    with forking_app.app_context():
        db.session.get(Saga, saga_id).deadline_at = clock.now() - timedelta(seconds=1)
        db.session.commit()
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPENSATED"
    assert steps[0][1] == "SKIPPED" and not runs.exists()  # never started
    assert ("saga.compensating", None, None) in events(forking_app, saga_id)


def test_an_attempt_that_overruns_its_timeout_is_handed_back_and_retried(forking_app, settles):
    saga_id = start(forking_app, "test_fork_slow")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][:3] == ("Slow", "SUCCEEDED", 2)
    assert ("step.retry_scheduled", "Slow", 1) in events(forking_app, saga_id)
    assert (saga_id, "Slow", 1, False) in [entry[1:] for entry in settles()]  # the RQ timeout's outcome


def test_a_warm_shutdown_lets_the_running_step_finish_and_be_settled(forking_app):
    saga_id = start(forking_app, "test_fork_stops")
    work(forking_app)  # stops after the job that asked it to
    status, steps = saga_state(forking_app, saga_id)
    assert (status, steps[0][1], steps[1][1]) == ("RUNNING", "SUCCEEDED", "PENDING")
    with forking_app.app_context():
        assert Queue(forking_app.config["SAGA_QUEUE"], connection=redis_connection()).job_ids == [
            dispatch.step_job_id(saga_id, 1, 1)]  # its successor is waiting for the next worker
    assert work(forking_app) == []
    assert saga_state(forking_app, saga_id)[0] == "COMPLETED"


# The bookkeeper on its own.

def test_a_bookkeeper_that_dies_or_hangs_is_replaced(app, monkeypatch):
    keeper = bookkeeper.Bookkeeper(app)
    saga_id = start(app, "test_fork_plain")
    try:
        assert keeper.claim(saga_id, 0).step_name == "A"
        first = keeper.pid
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)
        with pytest.raises(bookkeeper.Unavailable):
            keeper.claim(saga_id, 0)
        assert keeper.pid is None
        assert keeper.claim(saga_id, 0) is None  # a new one: the step is already claimed
        assert keeper.pid not in (None, first)
        monkeypatch.setattr(bookkeeper, "TIMEOUT", 0.5)
        keeper.stop()
        monkeypatch.setattr(bookkeeper, "_handle", lambda *request: time.sleep(30))
        with pytest.raises(bookkeeper.Unavailable, match="did not answer"):
            keeper.claim(saga_id, 0)  # hung: killed after the timeout
        assert keeper.pid is None
    finally:
        keeper.stop()


def test_a_settle_is_sent_without_waiting_and_answered_before_the_next_claim(app, tmp_path, monkeypatch):
    gate, handle = tmp_path / "gate", bookkeeper._handle

    def held(kind, *args):
        if kind == "settle":
            while not gate.exists():  # held until the test has its answer back
                time.sleep(0.01)
        return handle(kind, *args)

    monkeypatch.setattr(bookkeeper, "_handle", held)
    monkeypatch.setattr(bookkeeper, "TIMEOUT", 5)  # a settle that waited would fail, not hang
    first, second = start(app, "test_fork_plain"), start(app, "test_fork_plain")
    keeper = bookkeeper.Bookkeeper(app)
    try:
        run = keeper.claim(first, 0)
        keeper.settle(run, Outcome(True, 1.0, result={}))  # returns with the settle held
        assert [sent.saga_id for sent in keeper.unsettled] == [first]
        assert saga_state(app, first)[1][0][1] == "RUNNING"
        gate.write_text("go")
        assert keeper.claim(second, 0).step_name == "A"  # after the settle's answer, read first
        assert not keeper.unsettled
        status, steps = saga_state(app, first)
        assert (status, steps[0][1], steps[1][1]) == ("RUNNING", "SUCCEEDED", "PENDING")
    finally:
        keeper.stop()


def test_a_settle_that_failed_is_logged_when_its_answer_is_read(app, monkeypatch, caplog):
    def refuses(kind, *args):
        if kind == "settle":
            raise RuntimeError("the database refused")
        return bookkeeper.orchestrator.claim(*args)

    monkeypatch.setattr(bookkeeper, "_handle", refuses)
    saga_id = start(app, "test_fork_plain")
    keeper = bookkeeper.Bookkeeper(app)
    try:
        run = keeper.claim(saga_id, 0)
        keeper.settle(run, Outcome(True, 1.0, result={}))
        assert "could not settle" not in caplog.text  # not known yet: the worker did not wait
        keeper.drain()
        assert f"could not settle step 0 of saga {saga_id} (RuntimeError: the database refused); " \
               "the sweeper will" in caplog.text
        assert keeper.claim(saga_id, 1) is None  # in step with the bookkeeper still: not this saga's step
        assert saga_state(app, saga_id)[1][0][1] == "RUNNING"  # the sweeper's to repair
        caplog.clear()
        keeper.settle(run, Outcome(True, 1.0, result={}))
        keeper.stop()
        assert f"could not settle step 0 of saga {saga_id}" in caplog.text  # read by stop, before it closed
    finally:
        keeper.stop()


def test_stopping_the_bookkeeper_waits_for_the_settles_sent(forking_app):
    app = forking_app  # on a Redis the bookkeeper, a forked process, reaches too
    saga_id = start(app, "test_fork_plain")
    keeper = bookkeeper.Bookkeeper(app)
    run = keeper.claim(saga_id, 0)
    keeper.settle(run, Outcome(True, 1.0, result={}))
    keeper.stop()
    assert keeper.pid is None and not keeper.unsettled
    status, steps = saga_state(app, saga_id)
    assert (status, steps[0][1], steps[1][1]) == ("RUNNING", "SUCCEEDED", "PENDING")
    with app.app_context():
        assert Queue(app.config["SAGA_QUEUE"], connection=redis_connection()).job_ids == [
            dispatch.step_job_id(saga_id, 0, 1),  # the submission's, which no worker took here
            dispatch.step_job_id(saga_id, 1, 1)]  # the successor, enqueued by the bookkeeper


def test_a_bookkeeper_outlives_its_worker_by_seconds_at_most(app, monkeypatch):
    monkeypatch.setattr(bookkeeper, "ORPHAN_CHECK_SECONDS", 0.1)
    saga_id = start(app, "test_fork_plain")
    report_read, report_write = os.pipe()
    worker = os.fork()
    if worker == 0:  # a worker that dies without stopping its bookkeeper
        code = 1
        try:
            keeper = bookkeeper.Bookkeeper(app)
            keeper.claim(saga_id, 0)
            if os.fork() == 0:  # like RQ's scheduler: forked later, it holds the worker's end too
                time.sleep(3)
                os._exit(0)
            os.write(report_write, str(keeper.pid).encode())
            code = 0
        finally:
            os._exit(code)
    os.waitpid(worker, 0)
    orphan = int(os.read(report_read, 32))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and _running(orphan):
        time.sleep(0.05)
    assert not _running(orphan)  # gone though the "scheduler" still holds the socket


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# The channel itself, without forking.

def test_a_claim_is_received_only_by_another_process_for_the_same_step(monkeypatch):
    channel = handover.Channel(size=4096)
    claimed = handover.Handover(7, 1, run="run", worker_pid=os.getpid())
    channel.pass_claim(claimed)
    assert channel.claim_for(7, 1) is None  # the worker itself: no horse here
    monkeypatch.setattr(os, "getpid", lambda: claimed.worker_pid + 1)
    assert channel.claim_for(7, 1) is claimed
    assert channel.claim_for(7, 2) is None  # another step's job


def test_an_outcome_comes_back_once_and_only_if_it_was_written(app):
    channel = handover.Channel(size=4096)
    outcome = Outcome(True, 1.5, result={"id": 3})
    with app.app_context():
        channel.pass_claim(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.collect_outcome() is None  # the horse wrote nothing: settled it itself, or died
        channel.pass_claim(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.return_outcome(outcome)
        assert channel.collect_outcome() == ("run", outcome)
        assert channel.collect_outcome() is None
        channel.pass_claim(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.collect_outcome() is None  # a new claim clears the last outcome
        channel.pass_claim(handover.Handover(7, 1, None, os.getpid()))
        assert channel.collect_outcome() is None  # nothing was claimed, so nothing to settle


def test_the_horse_keeps_what_the_channel_cannot_carry(app):
    channel = handover.Channel(size=4096)
    with app.app_context():
        channel.pass_claim(handover.Handover(7, 1, "run", os.getpid()))
        assert not channel.return_outcome(Outcome(True, 1.0, result={"blob": "x" * 5000}))  # too large
        db.session.execute(select(Product.id)).all()  # a transaction open in the session
        assert not channel.return_outcome(Outcome(True, 1.0, result={}))
        db.session.rollback()
        assert channel.collect_outcome() is None
