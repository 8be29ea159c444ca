"""A forking worker's bookkeeper: one process of its own that claims and settles its steps.

A forking worker (app/worker.py, `SagaWorker`) forks a work horse per job, so it opens no
database connection of its own: SQLite keeps its locks' state per process, and a child must not
inherit a connection's (sqlite.org/howtocorrupt.html, 2.6); and after each fork every page the
worker writes costs it a fault. It forks this bookkeeper once instead, at its first step job.
The bookkeeper keeps the connection and never forks. The worker asks it, over a socket, to claim
a step job's step before forking the horse, and to settle the outcome the horse hands back
(app/saga/handover.py); a settled step's successor is enqueued here, after the commit.

The worker waits for a claim, which the horse needs, but not for a settle: the bookkeeper
commits the outcome and enqueues the successor while the worker goes on to its next job.
Waiting cost the forking worker 0.8 ms a step job here, a round trip to this process with a
settle and a Redis round trip (the successor's) in it. The bookkeeper takes requests in order,
so the answer to a settle is read before the next claim's, and a claim never runs before the
settle sent ahead of it.

The bookkeeper lives as long as the worker: it stops when the worker closes its end of the
socket, or within a few seconds of the worker's death. If it dies, hangs past `TIMEOUT` or a
call to it is interrupted, the worker kills it and starts another for its next request; the
request at hand is then done by the horse (a claim) or left to the sweeper (a settle).
"""
import contextlib
import logging
import os
import pickle
import select
import signal
import socket
import struct
import time
from collections import deque

from app.extensions import db
from app.saga import kept_connection, orchestrator

log = logging.getLogger(__name__)
_LENGTH = struct.Struct("<I")
TIMEOUT = 75  # seconds a request may take: a settle may wait twice for SQLite's 30 s busy timeout
ORPHAN_CHECK_SECONDS = 5


class Unavailable(Exception):
    """The bookkeeper did not answer; it has been stopped."""


class Bookkeeper:
    """The worker's side: starts the process, sends it requests, and replaces it when it fails."""

    def __init__(self, app):
        self.app, self.pid, self._socket = app, None, None
        self.unsettled = deque()  # the runs of the settles sent whose answers are still to be read

    def claim(self, saga_id, index):
        """Claim the step for one attempt: its StepRun, or None if there is nothing to run."""
        self.drain()
        return self._call(("claim", saga_id, index))

    def settle(self, run, outcome):
        """Send the attempt's outcome to be recorded and the saga's next move taken; do not wait.

        Its answer is read by `drain`: before the next claim, when a burst worker finds its queue
        empty, and at `stop`. A settle that failed is logged then and left to the sweeper, as is
        one the bookkeeper died before doing, or that could not be sent (logged here).
        """
        try:
            self._call(("settle", run, outcome), answered=False)
        except Unavailable as error:
            _not_settled(run, error)
            return
        self.unsettled.append(run)

    def drain(self):
        """Wait until every settle sent is done; log those that failed or were lost."""
        while self.unsettled:
            run, failure = self.unsettled[0], None  # taken off only once its answer is read
            if self.pid is None:
                failure = "the bookkeeper was stopped before it answered"
            else:
                try:
                    self._answer()
                except Unavailable as error:
                    failure = error
            self.unsettled.popleft()
            if failure is not None:
                _not_settled(run, failure)

    def stop(self):
        """Wait for the settles sent, then close the socket, which ends the process once its
        request is done; wait for that, within TIMEOUT."""
        self.drain()
        if self.pid is None:
            return
        self._socket.close()
        deadline = time.monotonic() + TIMEOUT
        with contextlib.suppress(ChildProcessError):  # already reaped
            while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:
                    return self._kill()
                time.sleep(0.01)
        self.pid = self._socket = None
        return None

    def _start(self):
        self.drain()  # settles a stopped process took with it are logged, not read from the new one
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the bookkeeper
            code = 1
            try:
                ours.close()
                _serve(self.app, theirs)
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        ours.settimeout(TIMEOUT)
        self.pid, self._socket = pid, ours

    def _call(self, request, answered=True):
        """Send a request; return its answer, or nothing yet (`drain` reads it)."""
        if self.pid is None:
            self._start()
        self._exchange(_send, self._socket, request)
        return self._answer() if answered else None

    def _answer(self):
        """The next answer's value; Unavailable if it was an error or none came."""
        reply = self._exchange(_receive, self._socket)
        if reply is None:
            self._kill()
            raise Unavailable("the bookkeeper has exited")
        status, value = reply
        if status != "ok":
            raise Unavailable(value)
        return value

    def _exchange(self, function, *args):
        try:
            return function(*args)
        except BaseException as error:  # a half-done exchange leaves the socket out of step
            self._kill()
            if isinstance(error, (OSError, EOFError, pickle.UnpicklingError)):
                raise Unavailable(f"the bookkeeper did not answer: {error!r}") from error
            raise  # a stop request (RQ raises it from its signal handler when idle) is not swallowed

    def _kill(self):
        pid, self.pid, connection, self._socket = self.pid, None, self._socket, None
        connection.close()
        with contextlib.suppress(ProcessLookupError, ChildProcessError):  # already gone
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _not_settled(run, failure):
    log.error("could not settle step %s of saga %s (%s); the sweeper will", run.index, run.saga_id, failure,
              extra={"saga_id": run.saga_id})


def _serve(app, connection):
    """The bookkeeper's loop: answer each request until the worker closes the socket or dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl+C is for the worker, which stops us
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    worker = os.getppid()
    with app.app_context():
        kept_connection.keep(db.engine)
        while _wait_for_request(connection, worker) and (request := _receive(connection)) is not None:
            try:
                reply = ("ok", _handle(*request))
            except Exception as error:  # noqa: BLE001 - reported to the worker, which carries on
                log.exception("the bookkeeper could not %s", request[0])
                reply = ("error", f"{type(error).__name__}: {error}")
            finally:
                db.session.remove()
            try:
                _send(connection, reply)
            except OSError:  # the worker died since it asked: do what it asked for all the same
                log.warning("could not answer the worker; going on with its requests", exc_info=True)


def _handle(kind, *args):
    if kind == "claim":
        return orchestrator.claim(*args)
    run, outcome = args
    try:
        orchestrator.settle(run, outcome)
    except Exception:  # noqa: BLE001 - a kept connection that failed is replaced: try once more
        log.warning("settling step %s of saga %s failed; trying again", run.index, run.saga_id, exc_info=True)
        db.session.remove()
        # If the first try did commit, this one finds the attempt settled and does nothing; a
        # successor the first did not get to enqueue is then the sweeper's to enqueue.
        orchestrator.settle(run, outcome)
    return None


def _wait_for_request(connection, worker):
    """Wait until a request arrives; False once the worker is gone.

    The worker's end of the socket may outlive it: every process forked from it holds a copy (a
    horse until its job ends; RQ's scheduler, if the worker started one after us, for longer).
    So the bookkeeper also checks every few seconds that the worker is still its parent.
    """
    while not select.select([connection], [], [], ORPHAN_CHECK_SECONDS)[0]:
        if os.getppid() != worker:
            return False
    return True


def _send(connection, message):
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    connection.sendall(_LENGTH.pack(len(data)) + data)


def _receive(connection):
    """The next message, or None once the other side has closed the socket."""
    head = _exactly(connection, _LENGTH.size)
    if head is None:
        return None
    data = _exactly(connection, _LENGTH.unpack(head)[0])
    if data is None:
        return None
    return pickle.loads(data)


def _exactly(connection, size):
    chunks, missing = [], size
    while missing:
        chunk = connection.recv(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)

