"""Liveness and readiness: is the process up, and can it do its work right now."""
import logging

from flask import current_app
from sqlalchemy import text

from app.extensions import db, redis_connection
from app.ops.queue_state import live_workers

log = logging.getLogger(__name__)


class NotReady(Exception):
    """A check found its part reachable but not fit to work (e.g. no worker registered)."""


def readiness():
    """Check the database, Redis and the workers; returns (ready, {check: result})."""
    checks = {"database": _probe("database", _ping_database),
              "redis": _probe("redis", _ping_redis)}
    if checks["redis"]["ok"]:
        checks["workers"] = _probe("workers", _count_workers)
    else:
        checks["workers"] = {"ok": False, "error": "redis unreachable"}
    return all(check["ok"] for check in checks.values()), checks


def _ping_database():
    """Run a trivial query on the database."""
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()
    return {}


def _ping_redis():
    """Ping Redis over the app's connection."""
    redis_connection().ping()
    return {}


def _count_workers():
    """The live workers on the saga queue; none is not ready."""
    count = live_workers(redis_connection(), current_app.config["SAGA_QUEUE"])
    if count == 0:
        raise NotReady("no worker registered on the queue")
    return {"count": count}


def _probe(name, check):
    """Run one check: {"ok": True, ...details} or {"ok": False, "error": ...}.

    A failure answers with the error's kind only (probes are often public); the detail is logged.
    """
    try:
        return {"ok": True, **check()}
    except NotReady as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # whatever broke, this part is not ready
        log.warning("readiness check %s failed: %s", name, exc)
        return {"ok": False, "error": type(exc).__name__}
