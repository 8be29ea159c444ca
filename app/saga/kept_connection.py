"""A worker's own database connection for the hot path, kept from one job to the next.

A worker process keeps one (`keep`): checking a connection out of the pool for every
transaction costs a pool round trip and, on PostgreSQL, a ping. It is not pinged, so after
a database restart the first transaction on it fails; any error in a transaction throws it away
(`drop`) and the next one opens another. A forked child never uses its parent's (it takes one
from its own pool), and another thread has none.
"""
import logging
import os
import threading

from flask import current_app

log = logging.getLogger(__name__)


class _Kept(threading.local):
    app = engine = pid = connection = None


_kept = _Kept()
# This process's id, renewed in a child forked by os.fork (as RQ and the bookkeeper fork): cheaper
# than a system call per use. A fork made from C, past Python, would not renew it.
_process = os.getpid()


def _forked():
    global _process
    _process = os.getpid()


os.register_at_fork(after_in_child=_forked)


def keep(engine):
    """Run this thread's hot-path transactions on one connection of `engine` (the current app's)
    from now on; None stops."""
    if _kept.connection is not None and _kept.pid == _process:
        _kept.connection.close()
    _kept.engine, _kept.pid, _kept.connection = engine, _process, None
    _kept.app = current_app._get_current_object() if engine is not None else None


def current():
    """The kept DBAPI connection (pooled), opened if need be; None where none is kept (or for
    another app's engine)."""
    if _kept.app is None or _kept.pid != _process or _kept.app is not current_app._get_current_object():
        return None
    if _kept.connection is None:
        _kept.connection = _kept.engine.raw_connection()
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
