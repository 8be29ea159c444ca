"""The hot path (app/saga/hotpath.py) and the saga worker classes (app/worker.py).

The common case runs in a few Core statements; these tests pin that it writes the same history
as the general path, hands anything unusual over to it, and that the saga workers write each
step's successor with the step job's end.
"""
import os
import threading
import time
from datetime import datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import bindparam, create_engine, func, select, update

import jobs
from app import clock
from app.extensions import db, redis_connection
from app.models import Saga, SagaEvent, SagaStep
from app.saga import dispatch, hotpath, kept_connection, prepared
from app.saga.definition import SagaDefinition, Step, register
from app.saga.prepared import Prepared
from app.saga.submission import start_saga
from app.worker import SagaSimpleWorker, warm_up
from tests.conftest import run_jobs

SEEN = []


def remember(name):
    def action(ctx):
        SEEN.append((name, dict(ctx.results)))
        return {"from": name}
    return action


def confirm(ctx):
    SEEN.append(("on_complete", dict(ctx.results)))


PLAIN = register(SagaDefinition("test_hot_plain", tuple(Step(f"S{i}", remember(f"S{i}")) for i in range(3))))
HOOKED = register(SagaDefinition("test_hot_hooked", (Step("A", remember("A")), Step("B", remember("B"))),
                                 on_complete=confirm))


def start(app, saga_type, payload=None):
    with app.app_context():
        return start_saga(saga_type, payload or {})[0].id


def history(app, saga_id):
    with app.app_context():
        return [(event.type, event.step_name, event.from_status, event.to_status, event.attempt)
                for event in db.session.execute(select(SagaEvent).where(SagaEvent.saga_id == saga_id)
                                                .order_by(SagaEvent.id)).scalars()]


def queued_ids(app):
    with app.app_context():
        return Queue(app.config["SAGA_QUEUE"], connection=redis_connection()).job_ids


def test_a_saga_without_a_hook_completes_in_its_last_steps_transaction(app, monkeypatch):
    SEEN.clear()
    saga_id = start(app, "test_hot_plain")
    asked = []
    monkeypatch.setattr(dispatch, "enqueue", asked.append)
    with app.app_context():
        for index in range(3):
            jobs.process_step(saga_id, index)
    assert [job.job_id for job in asked] == [dispatch.step_job_id(saga_id, 1, 1),
                                             dispatch.step_job_id(saga_id, 2, 1)]  # no completion job
    assert history(app, saga_id) == [
        ("saga.created", None, None, "PENDING", None),
        ("step.started", "S0", "PENDING", "RUNNING", 1),
        ("saga.started", None, "PENDING", "RUNNING", None),
        ("step.succeeded", "S0", "RUNNING", "SUCCEEDED", 1),
        ("step.started", "S1", "PENDING", "RUNNING", 1),
        ("step.succeeded", "S1", "RUNNING", "SUCCEEDED", 1),
        ("step.started", "S2", "PENDING", "RUNNING", 1),
        ("step.succeeded", "S2", "RUNNING", "SUCCEEDED", 1),
        ("saga.completed", None, "RUNNING", "COMPLETED", None),
    ]
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        assert (saga.status, saga.current_step, saga.finished_at is not None) == ("COMPLETED", 2, True)
    # each step read the results of the steps before it, from the steps themselves
    assert SEEN == [("S0", {}), ("S1", {"S0": {"from": "S0"}}),
                    ("S2", {"S0": {"from": "S0"}, "S1": {"from": "S1"}})]


def test_a_saga_with_a_hook_completes_in_its_completion_job(app):
    SEEN.clear()
    saga_id = start(app, "test_hot_hooked")
    with app.app_context():
        jobs.process_step(saga_id, 0)
        jobs.process_step(saga_id, 1)
    assert queued_ids(app)[-1] == dispatch.completion_job_id(saga_id)
    run_jobs(app)
    assert history(app, saga_id)[-2:] == [("step.succeeded", "B", "RUNNING", "SUCCEEDED", 1),
                                          ("saga.completed", None, "RUNNING", "COMPLETED", None)]
    assert SEEN[-1] == ("on_complete", {"A": {"from": "A"}, "B": {"from": "B"}})


def test_a_retried_step_leaves_retrying_on_its_next_claim(app):
    saga_id = start(app, "order_placement", {"faults": {"ValidateUser": {"kind": "transient", "times": 1}}})
    run_jobs(app)
    started = [event for event in history(app, saga_id) if event[0] == "step.started" and event[1] == "ValidateUser"]
    assert started == [("step.started", "ValidateUser", "PENDING", "RUNNING", 1),
                       ("step.started", "ValidateUser", "RETRYING", "RUNNING", 2)]


def cancel_mid_step(ctx):
    """An operator cancels the saga while this step runs."""
    from app.saga import operator
    operator.cancel(ctx.saga_id, "ops", "changed my mind")
    return {"from": "B"}


CANCELLED = register(SagaDefinition("test_hot_cancelled", (
    Step("A", remember("A"), compensation=remember("undo A")),
    Step("B", cancel_mid_step, compensation=remember("undo B")),
    Step("C", remember("C")))))


def test_a_cancel_requested_during_a_step_takes_the_general_path(app):
    SEEN.clear()
    saga_id = start(app, "test_hot_cancelled")
    run_jobs(app)
    events = history(app, saga_id)
    assert ("step.succeeded", "B", "RUNNING", "SUCCEEDED", 1) in events
    assert [name for name, _ in SEEN] == ["A", "undo B", "undo A"]  # C never ran; B and A were undone
    with app.app_context():
        assert db.session.get(Saga, saga_id).status == "COMPENSATED"


def test_a_superseded_attempt_writes_nothing(app):
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        run = hotpath.claim(saga_id, 0)
        step = db.session.execute(select(SagaStep).where(SagaStep.saga_id == saga_id,
                                                         SagaStep.index == 0)).scalar_one()
        step.attempts += 1  # as if the sweeper had settled this attempt and another had been claimed
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(SagaEvent))
        db.session.remove()  # the attempt wrote nothing through the session: the plain connection settles
        from app.saga.execution import Outcome
        assert hotpath.succeed(run, Outcome(True, 1.0, result={"x": 1}), PLAIN) is True
        step = db.session.execute(select(SagaStep).where(SagaStep.saga_id == saga_id,
                                                         SagaStep.index == 0)).scalar_one()
        assert (step.status, step.result) == ("RUNNING", None)
        assert db.session.scalar(select(func.count()).select_from(SagaEvent)) == before
        assert db.session.get(Saga, saga_id).current_step == 0


def executed_statements(monkeypatch):
    """The SQL the hot path sends to the driver from here on, one entry per execute."""
    sent = []
    real_execute, real_many = prepared.execute, prepared.execute_many
    monkeypatch.setattr(prepared, "execute", lambda cursor, sql, parameters: (
        sent.append(sql.split()[0]), real_execute(cursor, sql, parameters)))
    monkeypatch.setattr(prepared, "execute_many", lambda cursor, sql, rows: (
        sent.append(sql.split()[0]), real_many(cursor, sql, rows)))
    return sent


def test_a_due_claim_on_sqlite_is_one_statement_and_its_event(app, monkeypatch):
    start(app, "test_hot_hooked", {"n": 0})  # another saga first: its ids differ from its steps' ids
    saga_id = start(app, "test_hot_plain", {"n": 1})
    with app.app_context():
        sent = executed_statements(monkeypatch)
        run = hotpath.claim(saga_id, 0)
        if db.engine.dialect.name == "sqlite":  # no BEGIN IMMEDIATE, no lock SELECT
            assert sent == ["UPDATE", "UPDATE", "INSERT"]  # the claim, the saga's start, both events
        else:  # PostgreSQL locks the saga's row first (FOR NO KEY UPDATE)
            assert sent == ["SELECT", "UPDATE", "UPDATE", "INSERT"]
        assert (run.saga_id, run.saga_type, run.index, run.step_name, run.attempt, run.payload,
                run.using_fallback) == (saga_id, "test_hot_plain", 0, "S0", 1, {"n": 1}, False)
        saga = db.session.get(Saga, saga_id)
        assert (saga.status, saga.current_step) == ("RUNNING", 0)
    assert history(app, saga_id)[1:] == [("step.started", "S0", "PENDING", "RUNNING", 1),
                                         ("saga.started", None, "PENDING", "RUNNING", None)]


def overdue(saga, step):
    saga.deadline_at = datetime(2000, 1, 1)


def cancelled(saga, step):
    saga.cancel_requested = True


def at_another_step(saga, step):
    saga.current_step = 1


def finished(saga, step):
    saga.status = "COMPENSATED"


def already_claimed(saga, step):
    step.status, step.attempts = "RUNNING", 1


@pytest.mark.parametrize("change, expected", [(overdue, hotpath.FORWARD), (cancelled, hotpath.FORWARD),
                                              (at_another_step, None), (finished, None),
                                              (already_claimed, None)])
def test_a_claim_the_saga_is_not_due_for_writes_nothing_and_says_why(app, change, expected):
    """The one-statement claim changes no row then, and the checks it falls back to decide."""
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        change(db.session.get(Saga, saga_id), db.session.execute(
            select(SagaStep).where(SagaStep.saga_id == saga_id, SagaStep.index == 0)).scalar_one())
        db.session.commit()
        before = db.session.execute(select(SagaStep.status, SagaStep.attempts)
                                    .where(SagaStep.saga_id == saga_id).order_by(SagaStep.index)).all()
        db.session.remove()
        assert hotpath.claim(saga_id, 0) is expected
        assert db.session.execute(select(SagaStep.status, SagaStep.attempts)
                                  .where(SagaStep.saga_id == saga_id).order_by(SagaStep.index)).all() == before
    assert [event[0] for event in history(app, saga_id)] == ["saga.created"]


@pytest.mark.parametrize("microseconds_left", [0, -1])
def test_a_claim_at_the_deadline_is_in_time_and_a_microsecond_after_it_is_not(app, monkeypatch, microseconds_left):
    now = datetime(2026, 12, 5, 12, 0, 0, 250000)
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        db.session.get(Saga, saga_id).deadline_at = now + timedelta(microseconds=microseconds_left)
        db.session.commit()
        monkeypatch.setattr(clock, "now", lambda: now)
        run = hotpath.claim(saga_id, 0)
    if microseconds_left == 0:
        assert run.attempt == 1
    else:
        assert run is hotpath.FORWARD


def test_a_claim_of_a_step_to_retry_keeps_the_saga_running_and_counts_the_attempt(app):
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        saga.status = "RUNNING"
        step = db.session.execute(select(SagaStep).where(SagaStep.saga_id == saga_id,
                                                         SagaStep.index == 0)).scalar_one()
        step.status, step.attempts, step.fallback_from_attempt = "RETRYING", 3, 2
        db.session.commit()
        run = hotpath.claim(saga_id, 0)
        assert (run.attempt, run.using_fallback, run.variant_attempt) == (4, True, 2)
    assert history(app, saga_id)[1:] == [("step.started", "S0", "RETRYING", "RUNNING", 4)]


def test_prepared_statements_convert_values_as_sqlalchemy_does(app):
    deadline = datetime(2026, 11, 26, 12, 30, 15, 250000)
    lock = Prepared(update(Saga.__table__).where(Saga.__table__.c.id == bindparam("b_saga"))
                    .values(deadline_at=bindparam("b_deadline"), payload=bindparam("b_payload"),
                            updated_at=bindparam("b_deadline"))
                    .returning(Saga.__table__.c.deadline_at, Saga.__table__.c.payload,
                               Saga.__table__.c.cancel_requested, Saga.__table__.c.type),
                    ("b_saga", "b_deadline", "b_payload"))
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        connection = db.session.connection()
        cursor, dialect = connection.connection.cursor(), connection.dialect
        values = (saga_id, deadline, {"n": [1, "é"]})
        assert lock.first(cursor, values, dialect) == (deadline, {"n": [1, "é"]}, False, "test_hot_plain")
        assert lock.first(cursor, (saga_id + 1, deadline, {}), dialect) is None
        cursor.close()
        db.session.commit()
        saga = db.session.get(Saga, saga_id)  # read back through the ORM: the same values
        assert (saga.deadline_at, saga.payload) == (deadline, {"n": [1, "é"]})
        cursor = db.session.connection().connection.cursor()
        with pytest.raises(TypeError, match="3 values expected, 2 given"):
            lock.first(cursor, (saga_id, deadline), dialect)  # a missing value is an error, not a shift
        cursor.close()
        db.session.rollback()
        # a column whose value SQLAlchemy would compute in Python must be given explicitly
        forgetful = Prepared(update(Saga.__table__).where(Saga.__table__.c.id == bindparam("b_saga"))
                             .values(retries=1), ("b_saga",))
        with pytest.raises(ValueError, match="updated_at"):
            forgetful.compiled(db.engine.dialect)
        # the parameters a statement declares are the ones it binds
        misnamed = Prepared(update(Saga.__table__).where(Saga.__table__.c.id == bindparam("b_saga"))
                            .values(retries=1, updated_at=bindparam("b_now")), ("b_saga", "b_time"))
        with pytest.raises(ValueError, match="binds \\['b_now', 'b_saga'\\], not \\['b_saga', 'b_time'\\]"):
            misnamed.compiled(db.engine.dialect)
        twice = Prepared(update(Saga.__table__).where(Saga.__table__.c.id == bindparam("b_saga"))
                         .values(retries=1, updated_at=bindparam("b_now")), ("b_saga", "b_now", "b_saga"))
        with pytest.raises(ValueError, match="not \\['b_saga', 'b_now', 'b_saga'\\]"):
            twice.compiled(db.engine.dialect)  # a value given twice would be ignored once


def test_sqlite_times_are_bound_exactly_as_sqlalchemy_binds_them(app):
    from datetime import timezone

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from app.saga.prepared import _bind_converter
    dialect = sqlite.dialect()
    theirs = DateTime().dialect_impl(dialect).bind_processor(dialect)
    ours = _bind_converter(DateTime(), dialect)
    assert ours.__name__ == "faster"  # the fast one was taken
    moments = [datetime(2026, 11, 26, 12, 30, 15, 250000), datetime(2026, 11, 26, 12, 30, 15),
               datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
               datetime(2026, 11, 26, 12, 30, 15, tzinfo=timezone.utc), None]  # SQLAlchemy's own way
    for moment in moments:
        assert ours(moment) == theirs(moment)
        assert ours(moment) == theirs(moment)  # again, as the same transaction binds it again
    assert ours(moments[1]) == theirs(moments[1]) and ours(moments[0]) == theirs(moments[0])


def test_warm_up_compiles_every_hot_statement(app):
    with app.app_context():
        dialect = db.engine.dialect
        hotpath.warm_up(dialect)
        assert all(statement.compiled(dialect).sql for statement in hotpath.STATEMENTS)


def saga_worker(app):
    warm_up()
    connection = redis_connection()
    return SagaSimpleWorker([Queue(app.config["SAGA_QUEUE"], connection=connection)], connection=connection)


def test_the_saga_worker_writes_the_successor_with_the_jobs_end(app, monkeypatch):
    saga_id = start(app, "test_hot_plain")
    with app.app_context():
        worker = saga_worker(app)

        def no_other_way(*args, **kwargs):
            raise AssertionError("the successor was sent on its own, not with the job's end")
        monkeypatch.setattr(dispatch, "enqueue", no_other_way)
        monkeypatch.setattr(SagaSimpleWorker, "_send", staticmethod(no_other_way))
        queue = worker.queues[0]
        job = queue.dequeue_any([queue], None, connection=worker.connection)[0]
        worker.execute_job(job, queue)
        assert queue.job_ids == [dispatch.step_job_id(saga_id, 1, 1)]
        assert queue.fetch_job(job.id) is None  # the first job finished (result_ttl=0)
        saga_worker(app).work(burst=True, logging_level="WARNING")
        assert db.session.get(Saga, saga_id).status == "COMPLETED"
        assert queue.count == 0 and queue.failed_job_registry.count == 0


def test_a_job_that_fails_after_its_commit_still_sends_its_successor(app, monkeypatch):
    saga_id = start(app, "test_hot_plain")
    process_step = jobs.process_step

    def crash_after_commit(saga_id, step_index):  # the step committed; then the job raises
        process_step(saga_id, step_index)
        raise RuntimeError("crashed after the commit")
    monkeypatch.setattr(jobs, "process_step", crash_after_commit)
    with app.app_context():
        worker = saga_worker(app)
        queue = worker.queues[0]
        job = queue.dequeue_any([queue], None, connection=worker.connection)[0]
        worker.execute_job(job, queue)
        assert queue.failed_job_registry.get_job_ids() == [job.id]
        assert queue.job_ids == [dispatch.step_job_id(saga_id, 1, 1)]  # sent after RQ recorded the failure
        assert worker._handed_off == ()  # nothing left over for RQ's later clean-ups


def write_a_user(ctx):
    """A step that writes through the session, as real steps do."""
    from app.models import User
    db.session.add(User(name=f"from saga {ctx.saga_id}", email=f"s{ctx.saga_id}-{ctx.attempt}@example.com"))
    if ctx.payload.get("supersede"):  # meanwhile the sweeper settles this attempt and claims another
        with db.engine.begin() as other:
            other.execute(update(SagaStep.__table__).where(SagaStep.__table__.c.saga_id == ctx.saga_id)
                          .values(attempts=SagaStep.__table__.c.attempts + 1))
    return {"wrote": True}


register(SagaDefinition("test_hot_writes", (Step("Write", write_a_user),)))


def users_from_sagas(app):
    from app.models import User
    with app.app_context():
        return db.session.scalars(select(User.name).where(User.name.like("from saga %"))).all()


def test_an_attempts_own_writes_commit_with_its_success(app):
    saga_id = start(app, "test_hot_writes")
    with app.app_context():
        jobs.process_step(saga_id, 0)
        assert db.session.get(Saga, saga_id).status == "COMPLETED"
    assert users_from_sagas(app) == [f"from saga {saga_id}"]


def test_a_superseded_attempts_own_writes_are_rolled_back(app):
    saga_id = start(app, "test_hot_writes", {"supersede": True})
    with app.app_context():
        jobs.process_step(saga_id, 0)
        step = db.session.scalars(select(SagaStep).where(SagaStep.saga_id == saga_id)).one()
        assert (step.status, step.result) == ("RUNNING", None)
    assert users_from_sagas(app) == []


def test_a_worker_keeps_one_connection_for_the_hot_path_and_drops_it_after_an_error(app, monkeypatch):
    with app.app_context():
        kept_connection.keep(db.engine)
        with hotpath._Transaction() as transaction:
            kept = transaction.pooled
            transaction.rollback()
        with hotpath._Transaction() as transaction:
            assert transaction.pooled is kept  # no checkout per transaction
            transaction.rollback()
        monkeypatch.setattr(kept_connection, "_process", os.getpid() + 1)  # as in a forked child
        with hotpath._Transaction() as transaction:
            assert transaction.pooled is not kept  # one of its own pool's, never the parent's
            transaction.rollback()
        monkeypatch.undo()
        with pytest.raises(RuntimeError), hotpath._Transaction():
            raise RuntimeError("the database went away")
        assert not kept.is_valid  # thrown away, not returned to the pool
        with hotpath._Transaction() as transaction:
            assert transaction.pooled is not kept
            transaction.rollback()


def test_a_keeper_on_sqlite_checkpoints_from_a_thread_until_it_stops_keeping(app):
    with app.app_context():
        kept_connection.keep(db.engine)
        assert kept_connection._kept.checkpointer is None  # nothing before the first transaction
        with hotpath._Transaction() as transaction:
            transaction.rollback()
        checkpointer = kept_connection._kept.checkpointer
        assert (checkpointer is not None and checkpointer.is_alive()) == (db.engine.dialect.name == "sqlite")
        kept_connection.keep(None)
        assert checkpointer is None or not checkpointer.is_alive()


def test_the_checkpointer_copies_the_log_into_the_database_file(tmp_path):
    path = tmp_path / "logged.db"
    engine = create_engine(f"sqlite:///{path}")  # the app's connect hook puts it in WAL mode
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies now
        connection.exec_driver_sql("CREATE TABLE t (x BLOB)")
        connection.commit()
        for _ in range(50):
            connection.exec_driver_sql("INSERT INTO t VALUES (randomblob(20000))")
            connection.commit()
        logged = path.stat().st_size  # all in the log so far
        checkpointer = kept_connection.Checkpointer(engine)
        checkpointer.start()
        deadline = time.monotonic() + 30
        while path.stat().st_size < 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        copied = path.stat().st_size  # (closing the last connection checkpoints too)
        checkpointer.stop()
    engine.dispose()
    assert not checkpointer.is_alive()
    assert logged < 100_000 and copied >= 1_000_000


def test_a_claim_waits_for_a_decision_in_progress_and_then_sees_it(app):
    """The claim locks the saga before it reads it (FOR NO KEY UPDATE; on SQLite, its first write)."""
    saga_id = start(app, "test_hot_plain")
    claimed = {}

    def claim():
        with app.app_context():
            claimed["run"] = hotpath.claim(saga_id, 0)

    with app.app_context():
        with db.engine.connect() as other:
            cancelling = other.begin()  # an operator's cancel, not yet committed
            other.execute(update(Saga.__table__).where(Saga.__table__.c.id == saga_id)
                          .values(cancel_requested=True, version=Saga.__table__.c.version + 1))
            worker = threading.Thread(target=claim)
            worker.start()
            time.sleep(0.5)
            assert worker.is_alive()  # waiting for the lock the cancel holds
            cancelling.commit()
        worker.join(30)
    assert claimed["run"] is hotpath.FORWARD  # it read the saga after the cancel: the general path stops it
    with app.app_context():
        step = db.session.execute(select(SagaStep).where(SagaStep.saga_id == saga_id, SagaStep.index == 0)).scalar_one()
        assert (step.status, step.attempts) == ("PENDING", 0)
