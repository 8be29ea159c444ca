"""A worker's own database connection for the hot path, kept from one job to the next.

A worker process keeps one (`keep`): checking a connection out of the pool for every
transaction costs a pool round trip and, on PostgreSQL, a ping. It is not pinged, so after
a database restart the first transaction on it fails; any error in a transaction throws it away
(`drop`) and the next one opens another. A forked child never uses its parent's (it takes one
from its own pool), and another thread has none.

On SQLite the kept connection comes with a `Checkpointer`, which keeps the write-ahead log short
from a thread of its own, so the worker's commits rarely have to. Both start with the first
transaction (a SagaSimpleWorker has forked RQ's scheduler by then, which may fork again later: a
child keeps neither the thread nor the parent's pooled connections).
"""
import logging
import os
import threading

from flask import current_app

log = logging.getLogger(__name__)


class _Kept(threading.local):
    app = engine = pid = connection = checkpointer = None


_kept = _Kept()
# This process's id, renewed in a child forked by os.fork (as RQ and the bookkeeper fork): cheaper
# than a system call per use. A fork made from C, past Python, would not renew it.
_process = os.getpid()


def _forked():
    global _process
    _process = os.getpid()
    if _kept.engine is not None:  # a fresh pool: the child never uses the parent's connections
        _kept.engine.dispose(close=False)


os.register_at_fork(after_in_child=_forked)


def keep(engine):
    """Run this thread's hot-path transactions on one connection of `engine` (the current app's)
    from now on; None stops."""
    app = current_app._get_current_object() if engine is not None else None
    if _kept.connection is not None and _kept.pid == _process:
        _kept.connection.close()
    if _kept.checkpointer is not None:
        _kept.checkpointer.stop()
    _kept.app, _kept.engine, _kept.pid, _kept.connection, _kept.checkpointer = app, engine, _process, None, None


def current():
    """The kept DBAPI connection (pooled), opened if need be; None where none is kept (or for
    another app's engine)."""
    if _kept.app is None or _kept.pid != _process or _kept.app is not current_app._get_current_object():
        return None
    if _kept.connection is None:
        _kept.connection = _kept.engine.raw_connection()
        if _kept.checkpointer is None and Checkpointer.needed(_kept.engine):
            _kept.checkpointer = Checkpointer(_kept.engine)  # from the first transaction on, like the connection
            _kept.checkpointer.start()
    return _kept.connection


def dialect():
    """The dialect of the kept connection's engine."""
    return _kept.engine.dialect


def drop():
    """Throw the kept connection away (it may be broken): never back to the pool."""
    connection, _kept.connection = _kept.connection, None
    if connection is None:
        return
    try:
        connection.invalidate()
    except Exception:  # noqa: BLE001 - it is being thrown away
        log.debug("could not invalidate the kept connection", exc_info=True)


class Checkpointer(threading.Thread):
    """Copies a SQLite database's write-ahead log back into it, every `INTERVAL` seconds.

    In WAL mode each commit appends its pages to the log, and the commit that takes the log past
    1,000 pages then copies them into the database file and syncs both files: with
    synchronous=NORMAL, the only syncs there are. A worker's commit met that every 50 or so
    steps, and it was a third of what the worker's commits cost. Checkpointed every tenth of a
    second from here instead, the log stays well short of that mark; a PASSIVE checkpoint never
    waits for a writer, and SQLite leaves Python's lock while it copies and syncs. Should this
    thread fall behind or stop, the commits checkpoint as they did.
    """

    INTERVAL, AFTER_FAILURE = 0.1, 10.0  # seconds

    def __init__(self, engine):
        super().__init__(name="sqlite-checkpoints", daemon=True)
        self.engine, self._stopping = engine, threading.Event()

    @staticmethod
    def needed(engine):
        """Whether the engine is a SQLite database in a file (in memory there is no log)."""
        return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")

    def run(self):
        connection = None
        try:
            while not self._stopping.wait(self.INTERVAL):
                try:
                    if connection is None:
                        connection = self.engine.raw_connection()
                    connection.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:  # noqa: BLE001 - the commits checkpoint meanwhile; try again later
                    log.warning("could not checkpoint the SQLite log; trying again in %s s",
                                self.AFTER_FAILURE, exc_info=True)
                    if connection is not None:
                        connection.invalidate()
                        connection = None
                    self._stopping.wait(self.AFTER_FAILURE)
        finally:
            if connection is not None:
                connection.close()

    def stop(self):
        """Stop after the checkpoint at hand, if any."""
        self._stopping.set()
        if self.is_alive() and self is not threading.current_thread():
            self.join(timeout=30)
