"""The forking SagaWorker: the worker claims and settles, the work horse runs the action.

These run a real `app.worker.SagaWorker`, which forks a work horse per job. The horses reach
Redis over TCP: the real server when REDIS_URL is set, otherwise a fakeredis TCP server in this
process (an in-memory fake cannot be shared with a forked child).
"""
import os
import signal
import threading
from datetime import timedelta

import fakeredis
import pytest
from rq import Queue
from sqlalchemy import select

import jobs
from app import clock, create_app
from app.extensions import db, redis_connection
from app.models import Product, Saga, SagaEvent, SagaStep
from app.saga import handover, hotpath, orchestrator, sweeper
from app.saga.definition import SagaDefinition, Step, register
from app.saga.errors import TransientError
from app.saga.execution import Outcome
from app.saga.submission import start_saga
from app.worker import SagaWorker


def where_it_ran(ctx):
    """Where the action ran, and what connection pool it found there."""
    return {"pid": os.getpid(), "idle_connections": db.engine.pool.checkedin()}


def restock(ctx):
    """An action that writes through the session: its write must commit with its success."""
    product = db.session.get(Product, ctx.payload["product_id"])
    product.stock += 1
    return {"pid": os.getpid()}


def flaky(ctx):
    if ctx.attempt == 1:
        raise TransientError("try again")
    return {"attempt": ctx.attempt}


def dies_once(ctx):
    if ctx.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)  # the horse dies mid-action, handing nothing back
    return {"attempt": ctx.attempt}


register(SagaDefinition("test_fork_plain", (Step("A", where_it_ran), Step("B", where_it_ran),
                                            Step("C", where_it_ran))))
register(SagaDefinition("test_fork_writes", (Step("Read", where_it_ran), Step("Restock", restock))))
register(SagaDefinition("test_fork_flaky", (Step("Flaky", flaky), Step("Then", where_it_ran))))
register(SagaDefinition("test_fork_dies", (Step("Dies", dies_once),)))


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
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path}/fork.db",
        "REDIS_URL": redis_url,
        "SAGA_RETRY_DELAY": 0,
        "SAGA_STEP_TIMEOUT": 10,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        redis_connection().flushdb()
    jobs.bind_app(app)
    yield app
    hotpath.keep_connection(None)  # the worker, in this process, kept one
    with app.app_context():
        redis_connection().flushdb()
        db.session.remove()
        db.engine.dispose()
    jobs.bind_app(None)


@pytest.fixture
def settled_here(monkeypatch):
    """The steps this process (the worker) settled: a horse's settles stay in the horse."""
    settled, settle = [], orchestrator.settle

    def counting(run, outcome):
        if os.getpid() == worker_pid:
            settled.append((run.saga_id, run.step_name, run.attempt, outcome.ok))
        return settle(run, outcome)

    worker_pid = os.getpid()
    monkeypatch.setattr(orchestrator, "settle", counting)
    return settled


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


def test_the_worker_claims_and_settles_and_the_horse_only_runs_the_action(forking_app, settled_here):
    first, second = start(forking_app, "test_fork_plain"), start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    for saga_id in (first, second):
        status, steps = saga_state(forking_app, saga_id)
        assert status == "COMPLETED"
        assert [(name, state, attempts) for name, state, attempts, _ in steps] == \
            [("A", "SUCCEEDED", 1), ("B", "SUCCEEDED", 1), ("C", "SUCCEEDED", 1)]
        for *_, result in steps:
            assert result["pid"] != os.getpid()  # each action ran in a work horse
            assert result["idle_connections"] == 0  # whose pool started empty: nothing crossed the fork
        assert events(forking_app, saga_id) == [
            ("saga.created", None, None), ("step.started", "A", 1), ("saga.started", None, None),
            ("step.succeeded", "A", 1), ("step.started", "B", 1), ("step.succeeded", "B", 1),
            ("step.started", "C", 1), ("step.succeeded", "C", 1), ("saga.completed", None, None)]
    assert sorted(settled_here) == sorted((saga_id, name, 1, True) for saga_id in (first, second)
                                          for name in "ABC")


def test_an_action_that_writes_through_the_session_is_settled_in_its_horse(forking_app, settled_here):
    with forking_app.app_context():
        product = Product(sku="P", name="Widget", price_cents=100, stock=3, reserved=0)
        db.session.add(product)
        db.session.commit()
        product_id = product.id
    saga_id = start(forking_app, "test_fork_writes", {"product_id": product_id})
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[1][1] == "SUCCEEDED"
    with forking_app.app_context():
        assert db.session.get(Product, product_id).stock == 4  # committed with the step's success
    assert settled_here == [(saga_id, "Read", 1, True)]  # Restock's horse settled it, in its own transaction


def test_a_failed_attempt_handed_back_is_retried_by_the_worker(forking_app, settled_here):
    saga_id = start(forking_app, "test_fork_flaky")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][:3] == ("Flaky", "SUCCEEDED", 2)
    assert ("step.retry_scheduled", "Flaky", 1) in events(forking_app, saga_id)
    assert (saga_id, "Flaky", 1, False) in settled_here


def test_a_horse_that_dies_mid_action_leaves_its_step_to_the_sweeper(forking_app, settled_here, monkeypatch):
    saga_id = start(forking_app, "test_fork_dies")
    other = start(forking_app, "test_fork_plain")
    failed = work(forking_app)
    assert len(failed) == 1  # RQ records the dead horse; the worker itself carries on
    assert saga_state(forking_app, other)[0] == "COMPLETED"
    status, steps = saga_state(forking_app, saga_id)
    assert (status, steps[0][1:3]) == ("RUNNING", ("RUNNING", 1))
    assert all(entry[0] != saga_id for entry in settled_here)
    later, real_now = timedelta(seconds=forking_app.config["SAGA_SWEEP_GRACE"] + 120), clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + later)
    with forking_app.app_context():
        assert dict(sweeper.sweep())
    monkeypatch.setattr(clock, "now", real_now)
    work(forking_app)
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert steps[0][1:3] == ("SUCCEEDED", 2)


def test_if_the_worker_cannot_claim_the_horse_claims_for_itself(forking_app, settled_here, monkeypatch):
    claim, worker_pid = orchestrator.claim, os.getpid()

    def fails_in_the_worker(*args, **kwargs):
        if os.getpid() == worker_pid:
            raise RuntimeError("database unavailable")
        return claim(*args, **kwargs)

    monkeypatch.setattr(orchestrator, "claim", fails_in_the_worker)
    saga_id = start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    assert saga_state(forking_app, saga_id)[0] == "COMPLETED"
    assert settled_here == []  # each horse claimed, ran and settled its own step


def test_a_settle_the_database_refused_is_tried_once_more_on_a_new_connection(forking_app, monkeypatch):
    rowcount, worker_pid, refused = hotpath._SUCCEED.rowcount, os.getpid(), []
    with forking_app.app_context():
        driver_error = db.engine.dialect.loaded_dbapi.OperationalError  # sqlite3's or psycopg's

    def refuses_once(connection, values):
        if os.getpid() == worker_pid and not refused:
            refused.append(connection)
            raise driver_error("connection lost")  # as the driver raises it, past SQLAlchemy
        return rowcount(connection, values)

    monkeypatch.setattr(hotpath._SUCCEED, "rowcount", refuses_once)
    saga_id = start(forking_app, "test_fork_plain")
    assert work(forking_app) == []
    status, steps = saga_state(forking_app, saga_id)
    assert status == "COMPLETED"
    assert [step[1:3] for step in steps] == [("SUCCEEDED", 1)] * 3
    assert len(refused) == 1
    assert refused[0].invalidated  # thrown away, and the worker went on with a new one
    assert hotpath._kept.connection is not refused[0]


# The channel itself, without forking.

def test_a_claim_is_received_only_by_another_process_for_the_same_step(monkeypatch):
    channel = handover.Channel(size=4096)
    claimed = handover.Handover(7, 1, run="run", worker_pid=os.getpid())
    channel.give(claimed)
    assert channel.received(7, 1) is None  # the worker itself: no horse here
    monkeypatch.setattr(os, "getpid", lambda: claimed.worker_pid + 1)
    assert channel.received(7, 1) is claimed
    assert channel.received(7, 2) is None  # another step's job


def test_an_outcome_comes_back_once_and_only_if_it_was_written(app):
    channel = handover.Channel(size=4096)
    outcome = Outcome(True, 1.5, result={"id": 3})
    with app.app_context():
        channel.give(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.take_back() is None  # the horse wrote nothing: settled it itself, or died
        channel.give(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.give_back(outcome)
        assert channel.take_back() == ("run", outcome)
        assert channel.take_back() is None
        channel.give(handover.Handover(7, 1, "run", os.getpid()))
        assert channel.take_back() is None  # a new claim clears the last outcome
        channel.give(handover.Handover(7, 1, None, os.getpid()))
        assert channel.take_back() is None  # nothing was claimed, so nothing to settle


def test_the_horse_keeps_what_the_channel_cannot_carry(app):
    channel = handover.Channel(size=4096)
    with app.app_context():
        channel.give(handover.Handover(7, 1, "run", os.getpid()))
        assert not channel.give_back(Outcome(True, 1.0, result={"blob": "x" * 5000}))  # too large
        db.session.execute(select(Product.id)).all()  # a transaction open in the session
        assert not channel.give_back(Outcome(True, 1.0, result={}))
        db.session.rollback()
        assert channel.take_back() is None
