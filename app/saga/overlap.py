"""Work done while a Redis request is in flight: a SagaSimpleWorker's claims and settles.

A worker spends much of a job waiting on Redis: RQ makes about 27 round trips per job, one at
a time, and this process sits idle for most of each one while Redis answers. A step job's two
transactions (its claim and its success) are CPU work in this process on SQLite. So the
SagaSimpleWorker hands each over as `pending` work (`while_waiting`), and its Redis connection
(`overlapping`) runs it right after sending its next request, before it reads the reply: the
claim while RQ marks the worker busy with the job, the success while RQ records its end. It
runs whole, never split across requests, so no database lock is held while Redis answers.

Work armed here is only ever run in the thread that armed it, once: by the next request that
thread sends, or by `Pending.wait` (whichever comes first), so a caller that needs the result
never depends on a request happening. An Exception it raises is kept for `wait` to raise; a
BaseException (a signal's) goes up through the request, whose connection is closed first, so
its reply cannot be read as the next command's.
"""
import functools
import threading

import redis

_armed = threading.local()


class Pending:
    """A piece of work to run once, and what it gave."""

    __slots__ = ("work", "done", "result", "error")

    def __init__(self, work):
        self.work, self.done, self.result, self.error = work, False, None, None

    def run(self):
        """Run the work, unless it has run."""
        if self.done:
            return
        self.done = True
        try:
            self.result = self.work()
        except BaseException as error:
            self.error = error
            if not isinstance(error, Exception):
                raise

    def wait(self):
        """The work's result, running it now if no request has: raises what it raised."""
        self.run()
        if self.error is not None:
            raise self.error
        return self.result


def while_waiting(work):
    """Run `work` (a callable) in this thread during its next Redis request, or at `wait`."""
    pending = _armed.pending = Pending(work)
    return pending


def disarm():
    """Forget this thread's armed work, if any has not run (it then never runs)."""
    _armed.pending = None


class _Overlapping:
    """A redis-py connection that runs its thread's armed work once a request is sent."""

    def send_packed_command(self, command, check_health=True):
        super().send_packed_command(command, check_health)
        pending = getattr(_armed, "pending", None)
        if pending is not None:
            _armed.pending = None  # before it runs: its own requests, if any, do not run it again
            try:
                pending.run()
            except BaseException:
                self.disconnect()
                raise


@functools.lru_cache(maxsize=None)
def _overlapping_class(connection_class):
    return type(f"Overlapping{connection_class.__name__}", (_Overlapping, connection_class), {})


def overlapping(client):
    """A client of the same Redis server, with the same options, whose connections overlap.

    It has a pool of its own. A client whose pool is not redis-py's plain ConnectionPool (a
    Sentinel's, a blocking one) is returned as it is: armed work then runs at `wait`.
    """
    pool = getattr(client, "connection_pool", None)
    if type(pool) is not redis.ConnectionPool:
        return client
    own = redis.ConnectionPool(connection_class=_overlapping_class(pool.connection_class),
                               max_connections=pool.max_connections, **pool.connection_kwargs)
    return type(client)(connection_pool=own)
