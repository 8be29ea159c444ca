"""Worker classes that load the app once per worker process, not once per job.

`rq worker -w app.worker.SagaWorker saga --with-scheduler` uses them; plain `rq worker` works too,
creating the app in each forked work horse.
"""
import jobs
from rq import SimpleWorker, Worker


class SagaWorker(Worker):
    """The forking worker: the app is built before forking and its DB pool is not shared."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        jobs.get_app()

    def main_work_horse(self, job, queue):
        """In the forked child, drop the parent's DB connections without closing them."""
        from app.extensions import db
        with jobs.get_app().app_context():
            db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)


class SagaSimpleWorker(SimpleWorker):
    """The non-forking worker, with the app built once at start."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        jobs.get_app()
