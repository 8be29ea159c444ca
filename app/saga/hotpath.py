"""The common case in a few statements: a step claimed, run, and succeeded.

Most step jobs find their saga running, uncancelled and in time, claim the step, and succeed.
For them the orchestrator runs the prepared statements below (app/saga/prepared.py) instead of
loading and flushing ORM objects: a claim is three statements on PostgreSQL and two on SQLite
(one more on a saga's first step), and a success three. Each transaction first takes the lock on
the saga that serialises every decision about it: the success by its write on the saga's row
(see `journal.lock_saga`), the claim without rewriting the row, which it changes only on the
saga's first step (`_Transaction.lock_saga_to_claim`; on SQLite, the claim's one statement: see
`_claim`). So a claim leaves the saga's `updated_at`, and the sweeper counts a saga as quiet from
its last move, not from its step's start.

Anything else goes to the orchestrator's general path, which handles every case: `claim`
returns FORWARD for a cancel request or a passed deadline, and `succeed` returns False when the
saga is no longer running as expected; failures never come here. Both paths make the same
checked moves and write the same events, so the history reads the same whichever ran.
"""
from typing import NamedTuple

from sqlalchemy import bindparam, insert, or_, select, update

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga import dispatch, kept_connection, prepared
from app.saga.journal import EventRow, log_rows
from app.saga.prepared import Prepared
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T
from app.saga.states import check_saga_move, check_step_move

SAGAS, STEPS, EVENTS = Saga.__table__, SagaStep.__table__, SagaEvent.__table__
FORWARD = "forward"  # a claim this module cannot make: the general path decides


class StepRun(NamedTuple):
    """What one claimed attempt needs after its claim has committed."""

    saga_id: int
    saga_type: str
    index: int
    step_name: str
    attempt: int
    payload: dict
    using_fallback: bool
    variant_attempt: int


_LOCK = Prepared(select(SAGAS.c.type, SAGAS.c.status, SAGAS.c.current_step, SAGAS.c.cancel_requested,
                        SAGAS.c.deadline_at, SAGAS.c.payload)
                 .where(SAGAS.c.id == bindparam("b_saga"))
                 .with_for_update(key_share=True),  # FOR NO KEY UPDATE, an UPDATE's lock; see lock_saga_to_claim
                 ("b_saga",))
_START = Prepared(update(SAGAS).where(SAGAS.c.id == bindparam("b_saga"))
                  .values(status=S.RUNNING.value, updated_at=bindparam("b_now")), ("b_saga", "b_now"))
_CLAIMABLE = (STEPS.c.saga_id == bindparam("b_saga"), STEPS.c.index == bindparam("b_index"),
              or_(STEPS.c.status == T.PENDING.value, STEPS.c.status == T.RETRYING.value))
_CLAIMED = dict(status=T.RUNNING.value, attempts=STEPS.c.attempts + 1, started_at=bindparam("b_now"),
                next_retry_at=None)
_CLAIMING = ("b_saga", "b_index", "b_now")  # the claim's parameters, in order
_CLAIM = Prepared(update(STEPS).where(*_CLAIMABLE).values(**_CLAIMED)
                  .returning(STEPS.c.name, STEPS.c.attempts, STEPS.c.fallback_from_attempt), _CLAIMING)


def _of_saga(column):
    """A column of the saga, as a subquery (rendered `WHERE id = ?`: SQLite takes the nearest `id`,
    the sagas table's)."""
    return select(column).where(SAGAS.c.id == bindparam("b_saga")).scalar_subquery()


# SQLite's claim in one statement, for a saga running (or about to) at this step, uncancelled and
# in time: see `_claim`.
_CLAIM_IF_DUE = Prepared(
    update(STEPS)
    .where(*_CLAIMABLE, select(SAGAS.c.id).where(
        SAGAS.c.id == bindparam("b_saga"),
        or_(SAGAS.c.status == S.PENDING.value, SAGAS.c.status == S.RUNNING.value),
        SAGAS.c.current_step == bindparam("b_index"), SAGAS.c.cancel_requested.is_(False),
        SAGAS.c.deadline_at >= bindparam("b_now")).exists())
    .values(**_CLAIMED)
    .returning(STEPS.c.name, STEPS.c.attempts, STEPS.c.fallback_from_attempt,
               _of_saga(SAGAS.c.type), _of_saga(SAGAS.c.status), _of_saga(SAGAS.c.payload)),
    _CLAIMING)
_EVENTS = Prepared(insert(EVENTS).inline(), EventRow._fields, column_keys=EventRow._fields)  # inline: no ids back


def _advance(more_parameters=(), **values):
    """The success settle's opening write: lock the saga only while it is running as expected.

    Its parameters: the saga, the step's index and the time, then any `values` bind besides.
    """
    return Prepared(update(SAGAS)
                    .where(SAGAS.c.id == bindparam("b_saga"), SAGAS.c.status == S.RUNNING.value,
                           SAGAS.c.current_step == bindparam("b_index"), SAGAS.c.cancel_requested.is_(False))
                    .values(version=SAGAS.c.version + 1, updated_at=bindparam("b_now"), **values),
                    ("b_saga", "b_index", "b_now", *more_parameters))


_TO_NEXT = _advance(("b_next",), current_step=bindparam("b_next"))
_TO_COMPLETION = _advance()  # the last step of a saga with an on_complete hook: its job completes it
_TO_COMPLETED = _advance(status=S.COMPLETED.value, finished_at=bindparam("b_now"))
_SUCCEED = Prepared(update(STEPS)
                    .where(STEPS.c.saga_id == bindparam("b_saga"), STEPS.c.index == bindparam("b_index"),
                           STEPS.c.status == T.RUNNING.value, STEPS.c.attempts == bindparam("b_attempt"))
                    .values(status=T.SUCCEEDED.value, finished_at=bindparam("b_now"),
                            result=bindparam("b_result"), error=None, error_type=None),
                    ("b_saga", "b_index", "b_attempt", "b_now", "b_result"))
STATEMENTS = (_LOCK, _START, _CLAIM, _CLAIM_IF_DUE, _EVENTS, _TO_NEXT, _TO_COMPLETION, _TO_COMPLETED,
              _SUCCEED)
# The moves this module makes, checked against the table once, here, not for every step; and the
# statuses as the plain strings their columns and events hold (an enum's `.value` runs Python).
check_step_move(T.PENDING, T.RUNNING)
check_step_move(T.RETRYING, T.RUNNING)
check_step_move(T.RUNNING, T.SUCCEEDED)
check_saga_move(S.PENDING, S.RUNNING)
check_saga_move(S.RUNNING, S.COMPLETED)
STEP_PENDING, STEP_RETRYING, STEP_RUNNING, STEP_SUCCEEDED = (
    T.PENDING.value, T.RETRYING.value, T.RUNNING.value, T.SUCCEEDED.value)
SAGA_PENDING, SAGA_RUNNING, SAGA_COMPLETED = S.PENDING.value, S.RUNNING.value, S.COMPLETED.value


def warm_up(dialect):
    """Compile every hot statement for a dialect; a forking worker does it before it forks."""
    for statement in STATEMENTS:
        statement.compiled(dialect)


class _Transaction:
    """Where a hot-path transaction writes.

    The session's transaction when the attempt's own writes wait in it (they must commit with
    its outcome); otherwise the worker's kept connection, or a plain connection from the pool,
    used as the driver's own connection: its first statement opens the transaction, and
    SQLAlchemy's per-connection bookkeeping is skipped. Either way, logs and jobs follow the
    commit, never a rollback. Every statement of the transaction runs on its one cursor.
    """

    __slots__ = ("in_session", "kept", "pooled", "connection", "dialect", "cursor", "open")

    def __init__(self):
        self.in_session = db.session.registry.has() and db.session().in_transaction()
        self.cursor = self.pooled = None
        if self.in_session:
            connection = db.session.connection()
            self.connection, self.dialect = connection.connection.dbapi_connection, connection.dialect
            self.kept = self.open = False
        else:
            self.pooled = kept_connection.current()
            self.kept = self.pooled is not None
            if self.kept:
                self.dialect = kept_connection.dialect()
            else:  # returned to the pool as soon as the transaction ends
                self.pooled, self.dialect = db.engine.raw_connection(), db.engine.dialect
            self.connection, self.open = self.pooled.dbapi_connection, True
        try:
            self.cursor = self.connection.cursor()
        except BaseException:  # no `with` has entered yet: undo it here, as __exit__ would
            self.__exit__(BaseException)
            raise

    def __enter__(self):
        return self

    def __exit__(self, error_type, *exc):
        """Close the cursor and give the connection back (the session keeps its own)."""
        cursor, self.cursor = self.cursor, None
        try:
            if cursor is not None:
                cursor.close()
        finally:
            if not self.in_session:
                self._release(failed=error_type is not None)

    def _release(self, failed):
        if not self.kept:
            pooled, self.pooled = self.pooled, None
            if pooled is not None:
                pooled.close()  # the pool rolls back whatever was left open
        elif failed:
            kept_connection.drop()  # it may be broken: never reused
        elif self.open:  # left without a commit or a rollback
            self.open = False
            try:
                prepared.rollback(self.connection)
            except BaseException:
                kept_connection.drop()
                raise

    def lock_saga_to_claim(self, saga_id):
        """Lock the saga for this transaction without rewriting its row; its claim-time columns.

        On PostgreSQL, SELECT ... FOR NO KEY UPDATE takes the row lock the general path's version
        bump takes (`journal.lock_saga`), without writing a new row version. SQLite has no row
        locks (it drops the clause): there the claim's first statement, a write, has already
        taken the database's one write lock (see `_claim`), so every read after it is current.
        The row rewrite this saves, with the page it added to the commit, was about a quarter of
        the claim's time in the database on SQLite.
        """
        return _LOCK.first(self.cursor, (saga_id,), self.dialect)

    def commit(self, saga_type, events, jobs=()):
        """Commit, then log the events and send the jobs (once: this or `rollback` ends the transaction)."""
        cursor, self.cursor = self.cursor, None
        cursor.close()  # SQLite commits only once no statement is in progress
        if self.in_session:
            db.session.commit()
        else:
            prepared.commit(self.connection)
            self.open = False
            if not self.kept:  # back to the pool before the logging and sending
                self._release(failed=False)
        log_rows(saga_type, events)
        dispatch.send(jobs)

    def rollback(self, result=None):
        """Roll back (the attempt's own writes too) and return `result` (once, as `commit`)."""
        cursor, self.cursor = self.cursor, None
        cursor.close()
        if self.in_session:
            db.session.rollback()
        else:
            prepared.rollback(self.connection)
            self.open = False
        return result


def claim(saga_id, index):
    """Claim the step for one attempt and commit: a StepRun, None (not ours), or FORWARD."""
    with _Transaction() as transaction:
        return _claim(transaction, transaction.cursor, saga_id, index, clock.now())


def _claim(transaction, cursor, saga_id, index, now):
    """The claim: on SQLite, one statement when the saga is as expected, else the lock and checks.

    SQLite's one statement is the transaction's first write, so it takes the database's write
    lock before it reads the saga (SQLite retries a write-first transaction whose snapshot went
    stale): it checks what the lock's SELECT would, as current, without BEGIN IMMEDIATE and that
    SELECT. When it changes no row, the transaction holds the write lock all the same, and the
    checks below find out why (their UPDATE then changes no row either). PostgreSQL locks the
    saga's row first, as its claim needs. Like the success settle, whose first statement is a
    write too, this relies on pysqlite's default (legacy) transaction control, which opens the
    transaction before the first INSERT, UPDATE or DELETE; the app's connections keep it.
    """
    dialect, params = transaction.dialect, (saga_id, index, now)
    if dialect.name == "sqlite":
        claimed = _CLAIM_IF_DUE.first(cursor, params, dialect)
        if claimed is not None:
            return _claimed(transaction, cursor, saga_id, index, now, *claimed)
    saga = transaction.lock_saga_to_claim(saga_id)
    if saga is None:
        return transaction.rollback()
    saga_type, status, current_step, cancel_requested, deadline_at, payload = saga
    if status not in (SAGA_PENDING, SAGA_RUNNING) or current_step != index:
        return transaction.rollback()  # finished, compensating, or a stray job for another step
    if cancel_requested or now > deadline_at:
        return transaction.rollback(FORWARD)
    step = _CLAIM.first(cursor, params, dialect)
    if step is None:
        return transaction.rollback()  # another delivery of this job claimed it first
    return _claimed(transaction, cursor, saga_id, index, now, *step, saga_type, status, payload)


def _claimed(transaction, cursor, saga_id, index, now,
             name, attempts, fallback_from, saga_type, status, payload):
    """Record the claim made (the step's event, and the saga's start on its first step) and commit."""
    dialect = transaction.dialect
    # Only a step's first attempt leaves PENDING; every later one leaves RETRYING (states.py).
    source = STEP_PENDING if attempts == 1 else STEP_RETRYING
    events = [EventRow(saga_id, "step.started", now, index, name, from_status=source, to_status=STEP_RUNNING,
                       attempt=attempts)]
    if status == SAGA_PENDING:
        _START.rowcount(cursor, (saga_id, now), dialect)
        events.append(EventRow(saga_id, "saga.started", now, from_status=SAGA_PENDING, to_status=SAGA_RUNNING))
    _EVENTS.run_many(cursor, events, dialect)
    transaction.commit(saga_type, events)
    return StepRun(saga_id, saga_type, index, name, attempts, payload, fallback_from is not None,
                   attempts - (fallback_from or 0))


def succeed(run, outcome, definition):
    """Record a successful attempt and move on, in one transaction; False if the general path must.

    The attempt's own writes are already flushed into the session's transaction, so they commit
    with it. The last step of a saga without an on_complete hook completes the saga here too,
    sparing a job; with a hook, the completion job runs it.
    """
    with _Transaction() as transaction:
        return _succeed(transaction, transaction.cursor, run, outcome, definition)


def _succeed(transaction, cursor, run, outcome, definition):
    now, last, dialect = clock.now(), run.index + 1 == len(definition.steps), transaction.dialect
    if not last:
        moved = _TO_NEXT.rowcount(cursor, (run.saga_id, run.index, now, run.index + 1), dialect)
    else:
        statement = _TO_COMPLETION if definition.on_complete else _TO_COMPLETED
        moved = statement.rowcount(cursor, (run.saga_id, run.index, now), dialect)
    if moved != 1:
        if not transaction.in_session:
            transaction.rollback()  # the general path continues in the session's transaction
        return False  # cancelled, or moved on: the general path takes the lock and decides
    if _SUCCEED.rowcount(cursor, (run.saga_id, run.index, run.attempt, now, outcome.result), dialect) != 1:
        return transaction.rollback(True)  # superseded: the sweeper already settled this attempt
    events = [EventRow(run.saga_id, "step.succeeded", now, run.index, run.step_name, from_status=STEP_RUNNING,
                       to_status=STEP_SUCCEEDED, attempt=run.attempt, duration_ms=round(outcome.duration_ms, 3))]
    if not last:
        jobs = [dispatch.step_job(run.saga_id, run.saga_type, run.index + 1, 1)]
    elif definition.on_complete:
        jobs = [dispatch.completion_job(run.saga_id, run.saga_type)]
    else:
        jobs = []
        events.append(EventRow(run.saga_id, "saga.completed", now, from_status=SAGA_RUNNING,
                               to_status=SAGA_COMPLETED))
    _EVENTS.run_many(cursor, events, dialect)
    transaction.commit(run.saga_type, events, jobs)
    return True
