"""Worker classes that load the app once per worker process, not once per job.

`rq worker -w app.worker.SagaSimpleWorker saga --with-scheduler` uses them; plain `rq worker`
works too, creating the app in each forked work horse and enqueueing each step's successor in
round trips of its own.
"""
import logging
import os

from rq import SimpleWorker, Worker
from rq.worker import WorkerStatus
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import configure_mappers

import jobs
from app.extensions import db
from app.saga import dispatch, handover, orchestrator

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
                if handed_off and not self._sent_with_end:
                    self._send(handed_off)  # no closing transaction of the job went through

    def cleanup_execution(self, job, pipeline, execution=None):
        """RQ's last step inside the job's closing transaction: on success, add the successors.

        Only the success transaction is already in MULTI, as enqueueing into a pipeline needs; a
        WatchError retry builds it again and adds them again. After a failure (the job's own
        commit stands), `perform_job` sends them on their own.
        """
        super().cleanup_execution(job, pipeline=pipeline, execution=execution)
        if pipeline.explicit_transaction:
            for queue, successor in self._handed_off:
                queue.enqueue_job(successor, pipeline=pipeline)

    def handle_job_success(self, *args, **kwargs):
        """RQ's success transaction, which carries the successors: sent once it has run."""
        super().handle_job_success(*args, **kwargs)
        self._sent_with_end = True

    @staticmethod
    def _send(handed_off):
        for queue, successor in handed_off:
            try:
                queue.enqueue_job(successor)
            except Exception:  # noqa: BLE001 - the sweeper enqueues it again
                log.exception("could not enqueue %s; the sweeper will enqueue it again", successor.id)


def warm_up():
    """Build the app, import the engine, and compile its hot statements, once per worker process.

    A forking worker does it before it forks, so each work horse starts from the parent's memory
    instead of importing and compiling again for every job.
    """
    app = jobs.get_app()
    from app.saga import compensation, hotpath, sweeper  # noqa: F401  (what jobs import)
    configure_mappers()
    with app.app_context():
        hotpath.warm_up(db.engine.dialect)
        hotpath.keep_connection(db.engine)
    return app


class SagaWorker(SendsNextWithItsEnd, Worker):
    """The forking worker: each job still runs in a work horse, and the worker keeps the app warm.

    For a step job the worker claims the step before forking and settles the outcome its horse
    hands back (app/saga/handover.py), on the connection it keeps; the horse runs the action.
    A horse starts with an empty connection pool: the worker's connections never cross the
    fork, so a horse that needs the database opens its own, and never uses or closes the
    worker's.

    Each fork write-protects all of the worker's memory, so every page the worker writes
    afterwards costs it a fault: it stays in one app context and on one connection rather
    than set up new ones (and touch their pages) for every claim and settle.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._app = warm_up()
        with self._app.app_context():
            self._engine = db.engine
        self._channel = handover.open_channel()

    def work(self, *args, **kwargs):
        """Work in one app context throughout; each job's horse pushes its own."""
        with self._app.app_context():
            return super().work(*args, **kwargs)

    def execute_job(self, job, queue):
        """RQ's Worker.execute_job, with a step job's claim before the fork and its settle after.

        The settled step's successor is written with the worker's return to idle, in one round
        trip; if the job ends abnormally, it is sent on its own.
        """
        self._claim_for_horse(job)
        with dispatch.handing_off() as successors:
            try:
                execution = self.prepare_execution(job)
                self.fork_work_horse(job, queue)
                self.monitor_work_horse(job, queue, execution)
            except BaseException:
                self._settle_handed_back()
                self._send(successors)
                raise
            self._settle_handed_back()
        with self.connection.pipeline() as pipeline:
            for successor_queue, successor in successors:
                successor_queue.enqueue_job(successor, pipeline=pipeline)
            self.set_state(WorkerStatus.IDLE, pipeline=pipeline)
            pipeline.execute()

    def _settle_handed_back(self):
        returned = self._channel.take_back()
        if returned:
            self._settle(*returned)

    def fork_work_horse(self, job, queue):
        """Fork with a new, empty pool in place of the worker's, which the worker gets back at once."""
        kept, self._engine.pool = self._engine.pool, self._engine.pool.recreate()
        try:
            super().fork_work_horse(job, queue)  # the horse never returns from here
        finally:
            self._engine.pool = kept

    def _claim_for_horse(self, job):
        if job.func_name != "jobs.process_step":
            return
        try:
            saga_id, index = job.args
            run = orchestrator.claim(saga_id, index)
            self._channel.give(handover.Handover(saga_id, index, run, os.getpid()))
        except Exception:  # noqa: BLE001 - the horse claims for itself, and reports what fails
            log.exception("could not claim for job %s; its work horse will", job.id)
        finally:
            db.session.remove()  # nothing of the session's crosses the fork

    def _settle(self, run, outcome):
        """Settle what a horse handed back; once more on a new connection if the database failed.

        Settling twice is harmless: the second finds the attempt already settled.
        """
        for last_try in (False, True):
            try:
                return orchestrator.settle(run, outcome)
            except Exception as error:  # noqa: BLE001 - left RUNNING with no job, the sweeper's case
                if not last_try and isinstance(error, (DBAPIError, self._engine.dialect.loaded_dbapi.Error)):
                    continue  # e.g. the database restarted since this connection was opened
                log.exception("could not settle step %s of saga %s; the sweeper will",
                              run.index, run.saga_id, extra={"saga_id": run.saga_id})
                return None
            finally:
                db.session.remove()


class SagaSimpleWorker(SendsNextWithItsEnd, SimpleWorker):
    """The non-forking worker, with the app built once at start."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warm_up()
