"""Worker classes that load the app once per worker process, not once per job.

`rq worker -w app.worker.SagaSimpleWorker saga --with-scheduler` uses them; plain `rq worker`
works too, creating the app in each forked work horse and enqueueing each step's successor in
round trips of its own.
"""
from rq import SimpleWorker, Worker
from sqlalchemy.orm import configure_mappers

import jobs
from app.extensions import db
from app.saga import dispatch


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
                dispatch.log.exception("could not enqueue %s; the sweeper will enqueue it again", successor.id)


def warm_up():
    """Build the app, import the engine, and compile its hot statements, once per worker process.

    A forking worker does it before it forks, so each work horse starts from the parent's memory
    instead of importing and compiling again for every job.
    """
    app = jobs.get_app()
    from app.saga import compensation, hotpath, orchestrator, sweeper  # noqa: F401  (what jobs import)
    configure_mappers()
    with app.app_context():
        hotpath.warm_up(db.engine.dialect)
    return app


class SagaWorker(SendsNextWithItsEnd, Worker):
    """The forking worker: the app is built before forking and its DB pool is not shared."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warm_up()

    def main_work_horse(self, job, queue):
        """In the forked child, drop the parent's DB connections without closing them."""
        from app.extensions import db
        with jobs.get_app().app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


class SagaSimpleWorker(SendsNextWithItsEnd, SimpleWorker):
    """The non-forking worker, with the app built once at start."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        warm_up()
