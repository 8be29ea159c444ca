"""Fixtures: an app on SQLite + fakeredis by default, or on DATABASE_URL / REDIS_URL when set.

When those variables are set the services must be reachable: a test fails, never skips.
"""
import os
import time
from contextlib import contextmanager

import fakeredis
import pytest
from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler

import jobs
from app import create_app
from app.extensions import db, redis_connection
from app.models import Product, User
from app.saga import kept_connection


@pytest.fixture
def app(tmp_path):
    """A fresh app and empty database per test, with jobs bound to it."""
    with fresh_app(tmp_path) as app:
        yield app


@contextmanager
def fresh_app(tmp_path, **config):
    """An app on an empty database and Redis, with jobs bound to it; `config` overrides the defaults."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path}/test.db",
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "FAKE_REDIS_SERVER": fakeredis.FakeServer(),
        "SAGA_RETRY_DELAY": 0,
        "SAGA_STEP_TIMEOUT": 2,
        "SAGA_COUNTS_MAX_AGE": 0,
        "WTF_CSRF_ENABLED": True,
        **config,
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
        redis_connection().flushdb()
    jobs.bind_app(app)
    try:
        yield app
    finally:
        kept_connection.keep(None)  # a worker class built in the test kept one
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        jobs.bind_app(None)


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def shop(app):
    """Two users (one inactive) and three products; returns their ids."""
    with app.app_context():
        ada = User(name="Ada", email="ada@example.com")
        ivan = User(name="Ivan", email="ivan@example.com", active=False)
        keyboard = Product(sku="KB", name="Keyboard", price_cents=5_000, stock=10, reserved=0)
        mouse = Product(sku="MS", name="Mouse", price_cents=2_000, stock=1, reserved=0)
        luxury = Product(sku="LX", name="Over the card limit", price_cents=900_000, stock=5, reserved=0)
        db.session.add_all([ada, ivan, keyboard, mouse, luxury])
        db.session.commit()
        return {"ada": ada.id, "ivan": ivan.id, "keyboard": keyboard.id, "mouse": mouse.id,
                "luxury": luxury.id}


def run_jobs(app, timeout=30.0, horizon=5.0):
    """Run queued and scheduled jobs with a real RQ SimpleWorker (burst) until none is left.

    Jobs scheduled more than `horizon` seconds ahead are left waiting.
    """
    with app.app_context():
        connection = redis_connection()
        queue = Queue(app.config["SAGA_QUEUE"], connection=connection)
        scheduler = RQScheduler([queue], connection=connection)
        scheduler.acquire_locks()
        deadline = time.monotonic() + timeout
        while True:
            scheduler.enqueue_scheduled_jobs()
            SimpleWorker([queue], connection=connection).work(burst=True, logging_level="WARNING")
            due = queue.scheduled_job_registry.get_jobs_to_schedule(time.time() + horizon)
            if queue.count == 0 and not due:
                return
            if time.monotonic() > deadline:
                raise AssertionError("jobs still pending after the timeout")
            time.sleep(0.1)
