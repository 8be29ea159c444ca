"""Worker classes that load the app once per worker process, not once per job.

`rq worker -w app.worker.SagaSimpleWorker saga --with-scheduler` uses them; plain `rq worker`
works too, creating the app in each forked work horse and enqueueing each step's successor in
round trips of its own.
"""
import logging
import os

from rq import SimpleWorker, Worker
from rq.exceptions import DeserializationError
from rq.utils import get_connection_from_queues
from sqlalchemy.orm import configure_mappers

import jobs
from app.extensions import db
from app.saga import bookkeeper, dispatch, handover, hotpath, kept_connection, orchestrator, overlap
from app.saga.execution import not_started

log = logging.getLogger(__name__)


class SendsNextWithItsEnd:
    """Writes the jobs a step job asks for in the Redis transaction that records the job's end.

    A step job commits its move and then needs its successor enqueued. Handed off instead, the
    successor is written by the pipeline RQ executes anyway to finish the job, not in round trips
    of its own. If the worker dies in between, the sweeper enqueues the job again, as it does for
    any enqueue lost after a commit.
    """

    _handed_off, _sent_with_end = (), False

    def perform_job(self, job, queue, execution):
        """Run the job with this thread's enqueues handed off, and send any RQ did not take."""
        self._sent_with_end = False
        with dispatch.handing_off() as handed_off:
            self._handed_off = handed_off
            try:
                return super().perform_job(job, queue, execution)
            finally:
                self._handed_off = ()  # RQ may clean up other jobs later: these are not theirs
                self.settle_now()  # if RQ's success transaction did not
                if handed_off and not self._sent_with_end:
                    self._send(handed_off)  # no closing transaction of the job went through

    def cleanup_execution(self, job, pipeline, execution=None):
        """RQ's last step inside the job's closing transaction: on success, add the successors.

        Only the success transaction is already in MULTI, as enqueueing into a pipeline needs; a
        WatchError retry builds it again and adds them again. After a failure (the job's own
        commit stands), `perform_job` sends them on their own.
        """
        super().cleanup_execution(job, pipeline=pipeline, execution=execution)
        self.settle_now()
        if pipeline.explicit_transaction:
            for successor in self._handed_off:
                dispatch.write(pipeline, *successor)

    def settle_now(self):
        """Settle a step's success the job handed back, if it is still to settle (see SagaSimpleWorker)."""

    def handle_job_success(self, *args, **kwargs):
        """RQ's success transaction, which carries the successors: sent once it has run."""
        super().handle_job_success(*args, **kwargs)
        self._sent_with_end = True

    @staticmethod
    def _send(handed_off):
        for successor in handed_off:
            try:
                dispatch.write_now(*successor)
            except Exception:  # noqa: BLE001 - the sweeper enqueues it again
                log.exception("could not enqueue %s; the sweeper will enqueue it again", successor.job.job_id)


def warm_up():
    """Build the app, import the engine, and compile its hot statements, once per worker process.

    A forking worker does it before it forks, so each work horse starts from the parent's memory
    instead of importing and compiling again for every job.
    """
    app = jobs.get_app()
    from app.saga import compensation, sweeper  # noqa: F401  (what jobs import)
    configure_mappers()
    with app.app_context():
        hotpath.warm_up(db.engine.dialect)
    return app


class SagaWorker(SendsNextWithItsEnd, Worker):
    """The forking worker: each job still runs in a work horse, and the worker keeps the app warm.

    A step job's bookkeeping is done by the worker's bookkeeper (app/saga/bookkeeper.py), a
    process of its own that keeps the database connection: it claims the step before the horse
    is forked and settles the outcome the horse hands back (app/saga/handover.py) while the
    worker goes on to its next job. The horse runs only the action. The worker itself does not
    connect to the database (what it finds open at start or before a fork it closes), so no
    connection, nor any driver state of one, crosses a fork: a horse opens a connection only if
    its action needs one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._app = warm_up()
        with self._app.app_context():
            self._engine = db.engine
        self._channel = handover.open_channel()
        self.bookkeeper = bookkeeper.Bookkeeper(self._app)

    def work(self, *args, **kwargs):
        """Work in one app context throughout (each step job's horse runs in it); then stop the bookkeeper."""
        self._engine.dispose()  # close what this process opened before it became a worker
        try:
            with self._app.app_context():
                return super().work(*args, **kwargs)
        finally:
            self.bookkeeper.stop()

    def execute_job(self, job, queue):
        """Run the job as RQ does, then have the outcome its horse handed back, if it did, settled."""
        try:
            super().execute_job(job, queue)
        finally:
            returned = self._channel.collect_outcome()
            if returned:
                self.bookkeeper.settle(*returned)  # settled while this worker goes on

    def fork_work_horse(self, job, queue):
        """Claim a step job's step, then fork the horse that receives the claim.

        RQ calls this once the worker is marked busy, so a stop signal from here on waits for
        the job instead of interrupting the claim.
        """
        if _is_step_job(job):
            self._claim_for_horse(*job.args)
        if getattr(self._engine.pool, "checkedin", int)():  # something in this process connected after all
            self._engine.dispose()  # closed here: no connection, nor SQLite's state of one, crosses the fork
        try:
            super().fork_work_horse(job, queue)  # a horse never returns from here
        except BaseException:
            self._not_started(job)
            raise

    def _claim_for_horse(self, saga_id, index):
        try:
            run = self.bookkeeper.claim(saga_id, index)
        except bookkeeper.Unavailable:
            log.exception("could not claim step %s of saga %s for its horse; the horse will", index, saga_id)
            return
        self._channel.pass_claim(handover.Handover(saga_id, index, run, os.getpid()))

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """RQ's dequeue; found empty, the queue is looked at again once the settles sent are done.

        A settle enqueues its step's successor, so until it is done a burst worker's empty queue
        may not stay empty: the worker would stop before the saga's next step. A worker that
        waited for jobs (`timeout`) and found none for `max_idle_time` stops all the same.
        """
        result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        if result is None and self.bookkeeper.unsettled:
            self.bookkeeper.drain()
            if timeout is None:  # burst
                result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        return result

    def _not_started(self, job):
        """A claimed step whose horse could not be forked: settle it as a failed attempt, to retry."""
        handed = self._channel.withdraw_claim()
        if handed is not None and handed.run is not None:
            self.bookkeeper.settle(handed.run, not_started(f"the worker could not start job {job.id}"))


class SagaSimpleWorker(SendsNextWithItsEnd, SimpleWorker):
    """The non-forking worker: the app built once, one connection kept, and a step job's claim
    and settle done while RQ waits on Redis.

    A step job's claim and its success are this process's work on SQLite, and RQ's requests
    around the job leave it idle while Redis answers them. So the worker's Redis connection runs
    them then (app/saga/overlap.py, app/saga/handover.py's `InProcess`): the claim during the
    request that marks the worker busy with the job, the success during the one that records
    the job's end. It works in its app context throughout, so a step job enters none of its
    own, and clears the session after each job.
    """

    def __init__(self, queues, *args, connection=None, **kwargs):
        connection = overlap.overlapping(connection or get_connection_from_queues(queues))
        super().__init__(queues, *args, connection=connection, **kwargs)
        self._app = warm_up()
        with self._app.app_context():
            kept_connection.keep(db.engine)
        self._in_process = handover.open_in_process(hotpath.claim, orchestrator.settle)

    def work(self, *args, **kwargs):
        """Work in the app's context throughout."""
        with self._app.app_context():
            return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        """Run the job as RQ does, a step job's claim made during its first request; then finish
        what the job left, and clear the session for the next.

        That first request is the one that marks the worker busy, so a stop signal from then on
        waits for the job; one that comes before it stops the worker here, and the claim, not yet
        made, never is.
        """
        try:
            if _is_step_job(job):
                self._in_process.begin(*job.args)
            super().execute_job(job, queue)
        finally:
            try:
                self._in_process.end_job(job.id)
            finally:
                db.session.remove()

    def settle_now(self):
        self._in_process.settle_now()


def _is_step_job(job):
    """Whether RQ will run the job as `jobs.process_step(saga_id, index)`."""
    try:
        return job.func_name == "jobs.process_step" and len(job.args) == 2 and not job.kwargs
    except DeserializationError:  # RQ fails the job when it runs it: it is not ours to claim
        return False
