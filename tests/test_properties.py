"""Property test: random step outcomes, crashes, lost and duplicated jobs never break the rules.

A test-only saga type's actions leave "effects" (rows) and its compensations undo them; a
hypothesis-driven loop delivers its jobs in hostile ways, runs the sweeper with the clock moved
forward, and then checks DESIGN.md's rules for the saga and its effects.
"""
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rq import Queue
from rq.job import Job

from app import clock
from app.errors import PermanentError, StepTimedOut, TransientError
from app.extensions import db, redis_connection
from app.models import Notification, Saga, SagaEvent, SagaStep, User
from app.saga import orchestrator
from app.saga.definition import SagaDefinition, Step, register
from app.saga.states import SAGA_TRANSITIONS, STEP_TRANSITIONS, SagaStatus, StepStatus
from app.saga.submission import submit
from app.saga.sweeper import sweep

STEPS = ("P0", "P1", "P2", "P3")
REAL_NOW = clock.now
SCRIPT = {}
ACTION_OUTCOMES = st.sampled_from(["ok", "ok", "ok", "transient", "permanent", "timeout_after_effect"])
UNDO_OUTCOMES = st.sampled_from(["ok", "ok", "fail"])
DELIVERIES = st.sampled_from(["run"] * 6 + ["duplicate", "drop", "crash"])


def _effect(ctx, kind):
    """Leave a row for this saga (once): the observable effect of an action or an undo."""
    exists = db.session.execute(db.select(Notification.id).filter_by(saga_id=ctx.saga_id, kind=kind)).first()
    if exists is None:
        db.session.add(Notification(saga_id=ctx.saga_id, user_id=ctx.payload["user_id"], kind=kind,
                                    recipient="x@example.com", subject=kind, body=kind))


def action(name):
    """A step whose outcome for each attempt the test's script decides."""
    def run(ctx):
        outcome = SCRIPT.get((ctx.saga_id, name, ctx.attempt), "ok")
        if outcome == "transient":
            raise TransientError("scripted transient failure")
        if outcome == "permanent":
            raise PermanentError("scripted rejection")
        _effect(ctx, f"do:{name}")
        if outcome == "timeout_after_effect":  # an outside effect that happened, then silence
            db.session.commit()
            raise StepTimedOut("scripted timeout after the effect")
    return run


def undo(name):
    """A compensation whose outcome for each attempt the script decides."""
    def run(ctx):
        if SCRIPT.get((ctx.saga_id, f"undo:{name}", ctx.attempt), "ok") == "fail":
            raise TransientError("scripted compensation failure")
        _effect(ctx, f"undo:{name}")
    return run


register(SagaDefinition(name="test_property", steps=tuple(Step(n, action(n), undo(n)) for n in STEPS)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_sequence_of_failures_ends_consistent(app, monkeypatch, data):
    app.config.update(SAGA_RETRY_ATTEMPTS=3, SAGA_COMPENSATION_ATTEMPTS=3, SAGA_STEP_TIMEOUT=2)
    offset = {"s": 0}
    monkeypatch.setattr(clock, "now", lambda: REAL_NOW() + timedelta(seconds=offset["s"]))
    with app.app_context():
        redis_connection().flushdb()  # each example starts from nothing
        db.drop_all()
        db.create_all()
        user_id = _a_user()
        saga_id = submit("test_property", {"user_id": user_id})[0].id
        for name in STEPS:
            for attempt in range(1, 5):
                SCRIPT[(saga_id, name, attempt)] = data.draw(ACTION_OUTCOMES)
            for attempt in range(1, 8):
                SCRIPT[(saga_id, f"undo:{name}", attempt)] = data.draw(UNDO_OUTCOMES)
    for _ in range(80):
        _deliver_all(app, data)
        with app.app_context():
            if db.session.get(Saga, saga_id).status in ("COMPLETED", "COMPENSATED", "FAILED"):
                break
            offset["s"] += 40  # past any step timeout plus the sweeper's grace
            sweep()
    with app.app_context():
        _check_rules(saga_id)


def _a_user():
    """The one user the effects are addressed to."""
    user = db.session.execute(db.select(User)).scalars().first()
    if user is None:
        user = User(name="P", email="p@example.com")
        db.session.add(user)
        db.session.commit()
    return user.id


def _deliver_all(app, data):
    """Deliver every queued job, each in a way hypothesis picks."""
    with app.app_context():
        queue = Queue(app.config["SAGA_QUEUE"], connection=redis_connection())
    while True:
        with app.app_context():
            job_id = queue.connection.lpop(queue.key)
            if job_id is None:
                return
            job = Job.fetch(job_id.decode(), connection=queue.connection)
            job.delete()
        how = data.draw(DELIVERIES)
        if how == "drop":
            continue
        if how == "crash" and job.func_name == "jobs.process_step":
            with app.app_context():
                orchestrator._claim(*job.args)  # claimed, then the worker died
            continue
        for _ in range(2 if how == "duplicate" else 1):
            job.func(*job.args)


def _check_rules(saga_id):
    """The saga is terminal and its state agrees with its effects and its history."""
    saga = db.session.get(Saga, saga_id)
    steps = {s.name: s for s in db.session.execute(db.select(SagaStep).filter_by(saga_id=saga_id)).scalars()}
    kinds = [n.kind for n in db.session.execute(db.select(Notification).filter_by(saga_id=saga_id)).scalars()]
    assert len(kinds) == len(set(kinds)), "an effect happened twice"
    live = {k[3:] for k in kinds if k.startswith("do:") and f"undo:{k[3:]}" not in kinds}
    assert saga.status in ("COMPLETED", "COMPENSATED", "FAILED"), f"saga stuck in {saga.status}"
    if saga.status == "COMPLETED":
        assert all(s.status == "SUCCEEDED" for s in steps.values())
        assert live == set(STEPS)
    elif saga.status == "COMPENSATED":
        assert live == set(), f"effects left behind: {live}"
    else:
        stuck = {name for name, s in steps.items() if s.status == "COMPENSATION_FAILED"}
        assert stuck and live <= stuck
    _check_history(saga_id)


def _check_history(saga_id):
    """Replaying the events from PENDING follows the transition tables exactly."""
    saga_status, step_status = SagaStatus.PENDING, {}
    for event in db.session.execute(db.select(SagaEvent).filter_by(saga_id=saga_id).order_by(SagaEvent.id)).scalars():
        if event.to_status is None or event.type == "saga.created":
            continue
        if event.step_index is None:
            assert SagaStatus(event.to_status) in SAGA_TRANSITIONS[saga_status], event.type
            assert event.from_status == saga_status.value
            saga_status = SagaStatus(event.to_status)
        else:
            current = step_status.get(event.step_index, StepStatus.PENDING)
            assert StepStatus(event.to_status) in STEP_TRANSITIONS[current], event.type
            assert event.from_status == current.value
            step_status[event.step_index] = StepStatus(event.to_status)
