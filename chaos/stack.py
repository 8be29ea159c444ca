"""What the chaos test runs against, all on the loopback interface: its own redis-server, a fresh
PostgreSQL database, gunicorn serving the app, rq workers and `rq cron` running the sweeper."""
import os
import secrets
import shutil
import sys
import signal
import subprocess
import time
import urllib.request
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

from chaos.processes import Service, Supervisor, free_ports, port_open

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)  # the virtualenv running the test has rq, gunicorn, flask
REDIS_SERVER = os.environ.get("CHAOS_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
PG_ADMIN_URL = os.environ.get("CHAOS_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

# Short timings, so retries, timeouts and the sweeper's recoveries happen within the run. The
# saga deadline keeps its default, longer than the run: every saga must end through its steps,
# its compensations and the sweeper, not through the deadline backstop.
TIMINGS = {
    "SAGA_STEP_TIMEOUT": "2",
    "SAGA_RETRY_DELAY": "0.5",
    "SAGA_TIMEOUT": "300",
    "SAGA_SWEEP_INTERVAL": "2",
    "SAGA_SWEEP_GRACE": "3",
}
# Variables of the calling shell that must not leak into the processes under test.
INHERITED_OUT = ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "ADMIN_PASSWORD", "EMBEDDED_WORKER")


class StackError(RuntimeError):
    """A service the chaos test needs could not be provided."""


class Stack:
    """The running services; every start goes through here so `stop()` can take all of it down."""

    def __init__(self, log_dir, workers=3):
        self.log_dir, self.worker_count = log_dir, workers
        self.redis_port, self.web_port = free_ports(2)
        self.db_name = f"chaos_{secrets.token_hex(4)}"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.db_url = _database_url(PG_ADMIN_URL, self.db_name)
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = _environment(self.redis_url, self.db_url)
        self.redis = self.web = self.cron = self.supervisor = None
        self.workers = []
        self.database_created = False
        self.redis_restarts = self.web_restarts = 0

    def start(self):
        """Database, Redis, schema, web, workers and cron; then supervise workers and cron."""
        self._create_database()
        self.redis = self._service("redis", [REDIS_SERVER, "--port", str(self.redis_port), "--bind",
                                             "127.0.0.1", "--save", "", "--appendonly", "no"])
        self._start_redis()
        migrate = subprocess.run([os.path.join(BIN, "flask"), "--app", "wsgi", "db", "upgrade"],
                                 cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120)
        if migrate.returncode != 0:
            raise StackError(f"flask db upgrade failed:\n{migrate.stdout}{migrate.stderr}")
        self.web = self._service("web", [os.path.join(BIN, "gunicorn"), "-w", "2", "-b",
                                         f"127.0.0.1:{self.web_port}", "--no-control-socket",
                                         "--graceful-timeout", "20", "wsgi:app"])
        self._start_web()
        self.workers = [self._service(f"worker{n}", [
            os.path.join(BIN, "rq"), "worker", "-w", "app.worker.SagaWorker", "saga", "--with-scheduler",
            "-u", self.redis_url, "-n", "{instance}"]).start() for n in range(1, self.worker_count + 1)]
        self.cron = self._service("cron", [os.path.join(BIN, "rq"), "cron", "-u", self.redis_url,
                                           "app/cron.py"]).start()
        self.supervisor = Supervisor([*self.workers, self.cron])
        self.supervisor.start()

    def stop(self, keep_database=False):
        """Stop everything that was started and drop the database (unless asked to keep it)."""
        if self.supervisor is not None:
            self.supervisor.halt()
        for service in [*self.workers, self.cron, self.web, self.redis]:
            if service is not None:
                service.stop(signal.SIGKILL, timeout=5)
        if self.database_created and not keep_database:
            _admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def restart_redis(self, down_seconds=1.0):
        """Kill redis-server and start an empty one on the same port: every queued job is lost."""
        self.redis.stop(signal.SIGKILL)
        time.sleep(down_seconds)
        self._start_redis()
        self.redis_restarts += 1

    def restart_web(self):
        """Stop gunicorn gracefully (requests in flight finish) and start it again."""
        self.web.stop(signal.SIGTERM, timeout=30)
        self._start_web()
        self.web_restarts += 1

    def connect_db(self):
        """A connection to the chaos database (autocommit), for reading what happened."""
        return psycopg.connect(self.db_url, autocommit=True)

    def connect_redis(self):
        """A client of the chaos Redis."""
        return redis.Redis.from_url(self.redis_url)

    def _service(self, name, command):
        """A service with the chaos environment and its log in the log directory."""
        return Service(name, command, self.env, ROOT, self.log_dir)

    def _create_database(self):
        """A fresh database for this run (never the shared `test` one)."""
        _admin(f'CREATE DATABASE "{self.db_name}"')
        self.database_created = True

    def _start_redis(self):
        """Start redis-server and wait until it answers."""
        self.redis.start()
        _wait(lambda: self.connect_redis().ping(), 10, "redis-server did not answer on "
              f"port {self.redis_port} (see {self.redis.log_path})", self.redis)

    def _start_web(self):
        """Start gunicorn and wait until the API answers."""
        self.web.start()
        url = f"{self.base_url}/api/products?limit=1"
        _wait(lambda: urllib.request.urlopen(url, timeout=2).status == 200, 30,
              f"gunicorn did not serve {url} (see {self.web.log_path})", self.web)


def _environment(redis_url, db_url):
    """The environment of every process under test."""
    env = {key: value for key, value in os.environ.items()
           if key not in INHERITED_OUT and not key.startswith(("SAGA_", "LOG_", "FLASK_"))}
    env.update(TIMINGS, REDIS_URL=redis_url, DATABASE_URL=db_url, SECRET_KEY="chaos", LOG_LEVEL="WARNING",
               PYTHONUNBUFFERED="1")
    return env


def _database_url(admin_url, name):
    """The admin URL with another database name; refuses anything but a loopback server."""
    parts = urlsplit(admin_url)
    if parts.hostname not in LOOPBACK:
        raise StackError(f"CHAOS_PG_URL must point at a loopback server, not {parts.hostname!r}")
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin(statement):
    """Run one statement on the PostgreSQL server's admin database."""
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)
    except psycopg.Error as exc:
        raise StackError(f"PostgreSQL at {PG_ADMIN_URL} refused {statement!r}: {exc}") from exc


def _wait(ready, timeout, message, service):
    """Poll `ready()` until it is true; fail with `message` on timeout or if the service died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.running():
            raise StackError(f"{message}: the process exited with {service.popen.returncode}")
        try:
            if ready():
                return
        except Exception:  # not up yet: connection refused, 502, ...
            pass
        time.sleep(0.2)
    raise StackError(message)
