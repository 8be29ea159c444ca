"""P1 step throughput, P4 scale-out and worker memory: burst workers against a pre-filled queue."""
from dataclasses import dataclass, field

from app.extensions import db
from bench.load import enqueue_chains, enqueue_noops, flush_redis, queue_leftovers, saga_statuses, submit_sagas
from app.saga.definition import get_definition
from bench.noop import JOBS_PER_SAGA, SAGA_TYPE
from bench.runner import run_burst
from bench.services import worker_env


@dataclass
class Run:
    """One timed burst: how many jobs the workers ran, in how long, and what they reported."""

    label: str
    jobs: int
    seconds: float
    reports: list
    problems: list = field(default_factory=list)

    @property
    def rate(self):
        """Jobs per second over the burst's wall time."""
        return self.jobs / self.seconds

    @property
    def cpu_ms_per_job(self):
        """CPU time the worker processes (and their work horses) spent per job, in ms."""
        return sum(r.cpu for r in self.reports) * 1000 / self.jobs

    @property
    def peak_rss_mb(self):
        """The largest peak resident memory among the run's worker processes, in MiB."""
        return max(r.memory_kb["VmHWM"] for r in self.reports) / 1024


def saga_run(bench, kind, sagas, workers=1, *options, saga_type=SAGA_TYPE):
    """N sagas of a type through `workers` worker processes of a kind."""
    definition = get_definition(saga_type)
    per_saga = len(definition.steps) + (definition.on_complete is not None)  # a hook has its own job
    app, url = bench.databases.fresh(bench.redis_url)
    flush_redis(app)
    submit_sagas(app, sagas, saga_type)
    jobs, seconds, reports = run_burst(kind, workers, app.config["SAGA_QUEUE"],
                                       worker_env(url, bench.redis_url), bench.redis_url, *options)
    run = Run(f"{sagas} {saga_type} sagas, {workers} x {kind}", jobs, seconds, reports)
    statuses, leftovers = saga_statuses(app), queue_leftovers(app)
    if statuses != {"COMPLETED": sagas}:
        run.problems.append(f"saga statuses after the run: {statuses}")
    if jobs != sagas * per_saga or leftovers != (0, 0):
        run.problems.append(f"ran {jobs} jobs (expected {sagas * per_saga}); "
                            f"queued/failed left: {leftovers}")
    _dispose(app)
    return run


def raw_run(bench, kind, count, workers=1, *options, chains=False):
    """`count` raw no-op jobs through `workers` worker processes of a kind.

    With `chains`, the jobs come as chains of JOBS_PER_SAGA, each job enqueueing the next as a
    saga step must: the floor for any engine that runs one job per step.
    """
    app, url = bench.databases.fresh(bench.redis_url)
    flush_redis(app)
    if chains:
        enqueue_chains(app, count // JOBS_PER_SAGA)
    else:
        enqueue_noops(app, count)
    jobs, seconds, reports = run_burst(kind, workers, app.config["SAGA_QUEUE"],
                                       worker_env(url, bench.redis_url), bench.redis_url, *options)
    run = Run(f"{count} raw jobs, {workers} x {kind}", jobs, seconds, reports)
    if jobs != count or queue_leftovers(app) != (0, 0):
        run.problems.append(f"ran {jobs} of {count} raw jobs; queued/failed: {queue_leftovers(app)}")
    _dispose(app)
    return run


def _dispose(app):
    """Close the app's connections so the next run starts on a clean database."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
