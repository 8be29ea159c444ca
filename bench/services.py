"""The benchmark's own Redis server and databases, and apps bound to them."""
import contextlib
import io
import os
import socket
import subprocess
import time

import redis
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A private `redis-server` on a free port, without persistence, stopped on exit."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)


class Bench:
    """Where the benchmark runs: its Redis URL and its databases."""

    def __init__(self, redis_url, databases):
        self.redis_url, self.databases = redis_url, databases


class Databases:
    """Fresh, migrated databases: SQLite files in a temp dir, or PostgreSQL databases made on a server.

    On PostgreSQL each one is `bench_<pid>_<n>`, created here and dropped on exit; no other
    database on the server is touched.
    """

    def __init__(self, tmpdir, server_url=None):
        self.tmpdir, self.server_url = tmpdir, server_url and _psycopg(server_url)
        self.apps, self.created = [], []

    @property
    def kind(self):
        """What the benchmark runs on, for the table's title."""
        return f"PostgreSQL ({self._admin().url.render_as_string()})" if self.server_url else \
            "SQLite (WAL, synchronous=NORMAL) in a temp dir"

    def fresh(self, redis_url):
        """An app on an empty, migrated database; returns (app, database URL)."""
        number = len(self.apps) + 1
        if self.server_url:
            name = f"bench_{os.getpid()}_{number}"
            self._execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            url = make_url(self.server_url).set(database=name).render_as_string(hide_password=False)
        else:
            url = f"sqlite:///{self.tmpdir}/bench{number}.db"
        app = make_app(url, redis_url)
        self.apps.append(app)
        with app.app_context():
            _migrate()
        return app, url

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        from app.extensions import db
        for app in self.apps:
            with app.app_context():
                db.engine.dispose()
        for name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self):
        """An autocommit engine on the server's maintenance database."""
        return create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def _execute(self, statement):
        """Run one statement on the server (CREATE/DROP DATABASE)."""
        with self._admin().connect() as connection:
            connection.execute(text(statement))


def _psycopg(url):
    """The URL with the psycopg 3 driver the project uses."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit("--database-url must be a postgresql:// URL (of any database on the server)")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


# A benchmark queues thousands of sagas at once: their deadline (set at submission, checked when
# each step is claimed) must not expire while they wait their turn.
SAGA_TIMEOUT = 24 * 3600


def make_app(database_url, redis_url):
    """The project's app on the given database and Redis."""
    from app import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                       "SECRET_KEY": "bench", "SAGA_TIMEOUT": SAGA_TIMEOUT})


def _migrate():
    """Apply the project's migrations to the app's (empty) database."""
    from flask_migrate import upgrade

    from app.extensions import db
    with contextlib.redirect_stderr(io.StringIO()):  # alembic's INFO lines, once per fresh database
        upgrade()
    db.session.remove()


def worker_env(database_url, redis_url):
    """The environment a worker process gets: the app's settings from variables, as served."""
    return dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY="bench",
                LOG_LEVEL="WARNING", SAGA_TIMEOUT=str(SAGA_TIMEOUT), PYTHONPATH=ROOT)
