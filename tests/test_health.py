"""Health probes: /healthz says the process is up, /readyz whether it can do its work now."""
import socket

import pytest
from rq import Queue, Worker

from app import create_app
from app.extensions import db, redis_connection


@pytest.fixture
def worker(app):
    """A worker registered on the saga queue, as a running `rq worker` would be."""
    with app.app_context():
        connection = redis_connection()
        registered = Worker([Queue(app.config["SAGA_QUEUE"], connection=connection)], connection=connection)
        registered.register_birth()
    yield registered
    with app.app_context():
        registered.register_death()


def closed_port():
    """A localhost port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def readyz_of(app, **config):
    """GET /readyz from an app on the same database and Redis as `app`, but for `config`."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                        "REDIS_URL": app.config["REDIS_URL"],
                        "FAKE_REDIS_SERVER": app.config["FAKE_REDIS_SERVER"], **config})
    try:
        return other.test_client().get("/readyz")
    finally:
        with other.app_context():
            db.engine.dispose()


def test_healthz_answers_while_the_process_is_up(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_ready_when_database_and_redis_answer_and_a_worker_is_registered(client, worker):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {
        "database": {"ok": True}, "redis": {"ok": True}, "workers": {"ok": True, "count": 1}}}


def test_not_ready_without_a_registered_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert response.json["checks"]["workers"] == {"ok": False, "error": "no worker registered on the queue"}
    assert response.json["checks"]["redis"] == {"ok": True}


def test_a_worker_that_stopped_no_longer_counts(app, client, worker):
    with app.app_context():
        worker.register_death()
    assert client.get("/readyz").status_code == 503


def test_not_ready_when_redis_is_down(app, worker):
    response = readyz_of(app, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError"}
    assert checks["workers"]["ok"] is False and checks["database"] == {"ok": True}


def test_not_ready_when_the_database_is_unreachable(app, tmp_path, worker):
    response = readyz_of(app, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/saga.db")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert response.json["checks"]["redis"] == {"ok": True}
