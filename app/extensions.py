"""Extensions bound in the factory, and the Redis connection and queue accessors."""
import sqlite3

import fakeredis
import redis
from flask import current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from rq import Queue
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase



class Base(DeclarativeBase):
    """Declarative base shared by every model."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()

# One in-memory Redis per process for embedded mode: the web app, the worker thread and the
# scheduler thread all talk to it.
EMBEDDED_REDIS = fakeredis.FakeServer()


LOCK_WAIT_SECONDS = 30  # the longest any statement waits for another transaction's lock


@event.listens_for(Engine, "connect")
def _tune(dbapi_connection, _record):
    """Bound lock waits on both databases; on SQLite, WAL lets the web and the workers write side by side.

    A statement that waits longer fails instead of hanging: its job fails or retries, and the
    sweeper repairs what it left. (A saga worker makes its claims and settles outside RQ's job
    timeout: see app/saga/handover.py.)
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_SECONDS * 1000}")
        cursor.close()
    elif type(dbapi_connection).__module__.startswith("psycopg"):
        autocommit, dbapi_connection.autocommit = dbapi_connection.autocommit, True  # a SET that stays
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{LOCK_WAIT_SECONDS}s'")
        finally:
            dbapi_connection.autocommit = autocommit


def init_redis(app):
    """Attach the Redis connection: the configured server, or the in-process fake."""
    url = app.config.get("REDIS_URL")
    if url:
        connection = redis.Redis.from_url(url, health_check_interval=30, socket_connect_timeout=5)
    else:
        connection = fakeredis.FakeRedis(server=app.config.get("FAKE_REDIS_SERVER") or EMBEDDED_REDIS)
    app.extensions["saga_redis"] = connection
    # One Queue per app: RQ asks each new Queue object for the server's version (a round trip).
    app.extensions["saga_queue"] = Queue(app.config["SAGA_QUEUE"], connection=connection)


def redis_connection():
    """Return the app's Redis connection."""
    return current_app.extensions["saga_redis"]


def saga_queue():
    """Return the RQ queue that carries saga jobs."""
    return current_app.extensions["saga_queue"]
