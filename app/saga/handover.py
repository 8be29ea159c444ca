"""A step job split between a forking worker and its work horse.

A forking worker (app/worker.py, `SagaWorker`) has the step claimed before it forks (by its
bookkeeper, app/saga/bookkeeper.py), and the work horse runs only the action. The horse hands
the attempt's outcome back through memory shared with the worker, which has it settled. So a
horse that does no database work of its own opens no connection: on SQLite a new connection
costs more than the whole step's bookkeeping, and on PostgreSQL it is a new server process per
job.

The horse settles the attempt itself, as a single process does, when its session holds a
transaction (the action wrote through it, or read): those writes must commit with the outcome,
in that transaction. It does so too when the outcome does not fit in the shared memory.

If the worker dies between the horse's end and sending the outcome to its bookkeeper (once sent,
the bookkeeper settles it without the worker), the step is left RUNNING with no job alive, which
is what the sweeper repairs, as for a horse killed mid-action.
"""
import mmap
import os
import pickle
import struct
from dataclasses import dataclass

from app.extensions import db
from app.saga.execution import Outcome
from app.saga.hotpath import StepRun

_HEADER = struct.Struct("<Q")  # the length of the pickled outcome; written last, 0 while empty
SIZE = 1 << 20  # outcomes larger than this are settled by the horse


@dataclass(frozen=True)
class Handover:
    """A claimed step job, as the worker passes it to the horse it forks next."""

    saga_id: int
    index: int
    run: StepRun | None  # None: nothing to run (another delivery has it, or the saga stopped)
    worker_pid: int


class Channel:
    """Memory shared by a worker and its successive horses: one outcome at a time.

    An anonymous shared mapping made before the first fork; each horse writes into the same
    pages the worker reads, with no file and no descriptor per job.
    """

    def __init__(self, size=SIZE):
        self._memory = mmap.mmap(-1, size, flags=mmap.MAP_SHARED)
        self.current = None

    def pass_claim(self, handover):
        """In the worker, before forking: the next horse receives this claim."""
        self._memory[:_HEADER.size] = _HEADER.pack(0)
        self.current = handover

    def claim_for(self, saga_id, index):
        """In the horse: the worker's claim for this step job, or None if it made none."""
        handover = self.current
        if handover is None or handover.worker_pid == os.getpid() \
                or (handover.saga_id, handover.index) != (saga_id, index):
            return None
        return handover

    def return_outcome(self, outcome):
        """In the horse: pass the outcome back for the worker to settle; False if the horse must."""
        if db.session.registry.has() and db.session().in_transaction():
            return False  # the attempt's reads or writes wait in this process's transaction
        try:
            data = pickle.dumps(tuple(outcome), protocol=pickle.HIGHEST_PROTOCOL)  # its fields, not its class
        except Exception:  # noqa: BLE001 - a result pickle cannot carry: the horse settles it
            return False
        if _HEADER.size + len(data) > len(self._memory):
            return False
        self._memory[_HEADER.size:_HEADER.size + len(data)] = data
        self._memory[:_HEADER.size] = _HEADER.pack(len(data))  # last: a horse killed mid-write gave nothing
        return True

    def collect_outcome(self):
        """In the worker, once the horse has exited: (claimed run, outcome to settle) or None."""
        handover = self.withdraw_claim()
        if handover is None or handover.run is None:
            return None
        (length,) = _HEADER.unpack(self._memory[:_HEADER.size])
        if not length:
            return None  # the horse settled the attempt itself, or died before it could hand back
        return handover.run, Outcome(*pickle.loads(self._memory[_HEADER.size:_HEADER.size + length]))

    def withdraw_claim(self):
        """In the worker: the claim passed for the last horse (None if none), no longer passed."""
        handover, self.current = self.current, None
        return handover


_channel = None  # only a forking worker maps the memory


def open_channel():
    """The process's channel, mapped on first use (by a forking worker, before it forks)."""
    global _channel
    if _channel is None:
        _channel = Channel()
    return _channel


def claim_for(saga_id, index):
    """In a horse: the claim its worker passed it for this step job, or None."""
    return _channel.claim_for(saga_id, index) if _channel is not None else None


def return_outcome(outcome):
    """In a horse passed a claim: hand the outcome back; False if the horse must settle it."""
    return _channel.return_outcome(outcome)
