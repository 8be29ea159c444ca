"""Worker classes that load the app once per worker process, not once per job.

`rq worker -w app.worker.SagaSimpleWorker saga --with-scheduler` uses them; plain `rq worker`
works too, creating the app in each forked work horse and enqueueing each step's successor in
round trips of its own.
"""
import logging
import os

from rq import SimpleWorker, Worker
from rq.worker import WorkerStatus
from sqlalchemy.orm import configure_mappers

import jobs
from app.extensions import db
from app.saga import bookkeeper, dispatch, handover, hotpath, kept_connection
from app.saga.execution import Outcome

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
            for successor in self._handed_off:
                dispatch.write(pipeline, *successor)

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
    process of its own that keeps the database connection: it claims the step for the horse and
    settles the outcome the horse hands back (app/saga/handover.py). The horse runs only the
    action. The worker asks for the claim as soon as RQ counts it busy, before RQ records the
    job's start, and collects it just before forking; it hands the outcome over without waiting
    for the settle. So the bookkeeping runs beside RQ's own work for the job, not after it. A
    burst worker that finds its queues empty first waits for the settles it handed over, whose
    successors may be on their way.

    The worker itself does not connect to the database (what it finds open at start or before a
    fork it closes), so no connection, nor any driver state of one, crosses a fork: a horse
    opens a connection only if its action needs one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._app = warm_up()
        with self._app.app_context():
            self._engine = db.engine
        self._channel = handover.open_channel()
        self.bookkeeper = bookkeeper.Bookkeeper(self._app)
        self._to_ask = self._asked = None  # (saga id, step index) of the step job at hand

    def work(self, *args, **kwargs):
        """Work in one app context throughout (each step job's horse runs in it); then stop the bookkeeper."""
        self._engine.dispose()  # close what this process opened before it became a worker
        try:
            with self._app.app_context():
                return super().work(*args, **kwargs)
        finally:
            self.bookkeeper.stop()  # once it has done what it was sent

    def dequeue_job_and_maintain_ttl(self, timeout, *args, **kwargs):
        """RQ's dequeue; in burst mode, found empty, look again once the settles handed over are done."""
        result = super().dequeue_job_and_maintain_ttl(timeout, *args, **kwargs)
        if result is None and timeout is None and self.bookkeeper.unsynced:
            try:
                self.bookkeeper.sync()
            except bookkeeper.Unavailable:
                log.exception("the bookkeeper did not finish its settles; the sweeper will")
            result = super().dequeue_job_and_maintain_ttl(timeout, *args, **kwargs)
        return result

    def execute_job(self, job, queue):
        """Run the job as RQ does, then hand over the outcome its horse handed back, if it did."""
        if job.func_name == "jobs.process_step" and len(job.args) == 2 and not job.kwargs:
            self._to_ask = tuple(job.args)
        try:
            super().execute_job(job, queue)
        finally:
            self._to_ask = None
            if self._asked is not None:  # asked for, but RQ never got as far as the fork
                self._channel.pass_claim(self._collect_claim())
                self._not_started(job)
            returned = self._channel.collect_outcome()
            if returned:
                self._settle(*returned)

    def set_state(self, state, pipeline=None):
        """RQ marks the worker busy just before it records the job's start: ask for the claim now.

        From here on a stop signal waits for the job instead of interrupting the request.
        """
        super().set_state(state, pipeline)
        if state == WorkerStatus.BUSY and self._to_ask is not None:
            step, self._to_ask = self._to_ask, None
            try:
                self.bookkeeper.ask_claim(*step)
            except bookkeeper.Unavailable:
                log.exception("could not ask for the claim of step %s of saga %s; the horse will claim it",
                              step[1], step[0])
            else:
                self._asked = step

    def fork_work_horse(self, job, queue):
        """Pass the step's claim to the horse, then fork it."""
        if self._asked is not None:
            self._channel.pass_claim(self._collect_claim())
        if getattr(self._engine.pool, "checkedin", int)():  # something in this process connected after all
            self._engine.dispose()  # closed here: no connection, nor SQLite's state of one, crosses the fork
        try:
            super().fork_work_horse(job, queue)  # a horse never returns from here
        except BaseException:
            self._not_started(job)
            raise

    def _collect_claim(self):
        """The bookkeeper's claim for the step job at hand, as the horse receives it; None if none."""
        (saga_id, index), self._asked = self._asked, None
        try:
            run = self.bookkeeper.claimed()
        except bookkeeper.Unavailable:
            log.exception("could not claim step %s of saga %s for its horse; the horse will", index, saga_id)
            return None
        return handover.Handover(saga_id, index, run, os.getpid())

    def _settle(self, run, outcome):
        try:
            self.bookkeeper.settle(run, outcome)
        except bookkeeper.Unavailable:
            log.exception("could not hand over step %s of saga %s to settle; the sweeper will", run.index,
                          run.saga_id, extra={"saga_id": run.saga_id})

    def _not_started(self, job):
        """A claimed step whose horse could not be forked: settle it as a failed attempt, to retry."""
        handed = self._channel.withdraw_claim()
        if handed is not None and handed.run is not None:
            self._settle(handed.run, Outcome(False, 0.0, error=f"the worker could not start job {job.id}",
                                             error_type="NotStarted", transient=True))


class SagaSimpleWorker(SendsNextWithItsEnd, SimpleWorker):
    """The non-forking worker, with the app built once at start and one connection kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        app = warm_up()
        with app.app_context():
            kept_connection.keep(db.engine)
