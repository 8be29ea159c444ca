"""A step job split between a saga worker and the job: the claim and the settle done around it.

A forking worker and its horse (`Channel`)
------------------------------------------

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

A SagaSimpleWorker and its Redis round trips (`InProcess`)
----------------------------------------------------------
A SagaSimpleWorker runs the job in its own process, and has the claim and the success's settle
done while RQ waits on Redis (app/saga/overlap.py): it arms the claim as it starts the job, and
the claim runs during the request that marks the worker busy with it; the job takes it. The job
hands a success back, armed to be settled during the requests that record the job's end, and the
worker finishes the settle, if those requests have not, before it writes the step's successor
into RQ's closing transaction. A failed attempt, or one whose writes wait in the session's
transaction, the job settles itself, as anywhere else. A claim made for a job that then stopped
before it asked for it is settled as a failed attempt, to retry.
"""
import logging
import mmap
import os
import pickle
import struct
from dataclasses import dataclass

from app.extensions import db
from app.saga import overlap
from app.saga.execution import Outcome, not_started
from app.saga.hotpath import StepRun

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<Q")  # the length of the pickled outcome; written last, 0 while empty
SIZE = 1 << 20  # outcomes larger than this are settled by the horse


@dataclass(frozen=True)
class Handover:
    """A claimed step job, as the worker passes it to the horse it forks next."""

    saga_id: int
    index: int
    run: StepRun | str | None  # None: nothing to run (another delivery has it, or the saga stopped);
    # hotpath.FORWARD: the hot path could not claim it, the general path must
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


class InProcess:
    """A SagaSimpleWorker's step job: its claim and its success done while RQ's requests are in flight.

    `claim` and `settle` are the hot path's claim and the orchestrator's settle (given by the
    worker, as this module sits below the orchestrator). One per process, as RQ runs one worker
    per process: it is the process's channel.
    """

    def __init__(self, claim, settle):
        self._claim, self._settle = claim, settle
        self.claiming = self.current = self.settling = None

    def begin(self, saga_id, index):
        """In the worker, as it starts a step job: claim the step during RQ's next request."""
        self.claiming = (saga_id, index, overlap.while_waiting(lambda: self._claim(saga_id, index)))

    def claim_for(self, saga_id, index):
        """In the job: the claim begun for this step job (made now if no request has made it), or None."""
        if self.claiming is None or self.claiming[:2] != (saga_id, index):
            return None
        claiming, self.claiming = self.claiming[2], None
        self.current = Handover(saga_id, index, claiming.wait(), os.getpid())
        return self.current

    def return_outcome(self, outcome):
        """In the job: arm a success's settle; False if the job must settle the outcome now.

        It must for a failure (the general path decides what follows), and when the attempt's
        reads or writes wait in the session's transaction (they commit with the outcome).
        """
        handed, self.current = self.current, None
        if handed is None or not outcome.ok or (db.session.registry.has() and db.session().in_transaction()):
            return False
        run = handed.run
        self.settling = (run.saga_id, run.index, overlap.while_waiting(lambda: self._settle(run, outcome)))
        return True

    def settle_now(self):
        """In the worker, before it writes the successors: settle the success armed, if no request has.

        A settle that fails is logged and left to the sweeper: RQ has recorded the job's end.
        """
        if self.settling is None:
            return
        (saga_id, index, settling), self.settling = self.settling, None
        try:
            settling.wait()
        except Exception:  # noqa: BLE001 - the step stays RUNNING, which the sweeper repairs
            log.exception("could not settle step %s of saga %s; the sweeper will", index, saga_id,
                          extra={"saga_id": saga_id})

    def end_job(self, job_id):
        """In the worker, once the job is over: undo a claim the job never took.

        One not yet made is never made. One made (the job stopped before it asked for it) is
        settled as a failed attempt, to retry, as a forking worker does for a claim whose horse
        it could not start; if that fails too, the step stays RUNNING for the sweeper. (A success
        handed back is settled by then: the worker's `perform_job` settles it on every path.)
        """
        self.current = None
        if self.claiming is None:
            return
        (saga_id, index, claiming), self.claiming = self.claiming, None
        if not claiming.done:
            overlap.disarm()
        elif isinstance(claiming.result, StepRun):
            try:
                self._settle(claiming.result, not_started(f"job {job_id} stopped before it ran the step"))
            except Exception:  # noqa: BLE001
                log.exception("could not settle step %s of saga %s, claimed for job %s that did not run it; "
                              "the sweeper will", index, saga_id, job_id, extra={"saga_id": saga_id})


_channel = None  # a forking worker's mapped memory, or a SagaSimpleWorker's InProcess


def open_channel():
    """The process's channel, mapped on first use (by a forking worker, before it forks)."""
    global _channel
    if not isinstance(_channel, Channel):
        _channel = Channel()
    return _channel


def open_in_process(claim, settle):
    """A SagaSimpleWorker's channel, for the jobs this process runs from now on."""
    global _channel
    _channel = InProcess(claim, settle)
    return _channel


def claim_for(saga_id, index):
    """In a horse, or a SagaSimpleWorker's job: the claim made for this step job, or None."""
    return _channel.claim_for(saga_id, index) if _channel is not None else None


def return_outcome(outcome):
    """In a job handed a claim: hand the outcome back; False if the job must settle it."""
    return _channel.return_outcome(outcome)
