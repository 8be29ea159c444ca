"""P1 counted in instructions: a saga step job against a raw no-op job, under callgrind.

Wall time and CPU time on a shared machine move by a tenth or more from one run to the next;
the instructions a process executes hardly do. Four child processes each build the app and
fill a queue, with N raw no-op jobs or N/5 five-step sagas, and start a `SagaSimpleWorker` in
burst mode; two of them first empty their queue again, so their worker starts and stops with
nothing to do. Each runs under `valgrind --tool=callgrind`, so the difference between a child
that worked and one that did not is the work itself: instructions per job, for raw jobs and for
saga step jobs, and their ratio.

The children run with a fixed hash seed. With a random one, Python lays out its dicts and sets
differently in every process, and two runs gave 9.46 and 9.69 million instructions per raw job,
2.4% apart. With the seed fixed, three runs gave 9.55 to 9.60 million, within 0.6% (two of them
within 0.01%); seven later ones gave 9.55 to 9.72 million, 1.8% apart, and on a later day
three gave 9.39 to 9.73 million, 3.6% apart (what a worker does while it waits on Redis depends
on time, not only on the jobs), while the saga job's count moved by 0.4%. So compare two builds
by their saga jobs counted in one run, not by a difference smaller than that across runs, and
read the ratio as good to a few hundredths.

What it counts is the worker process's user-space instructions: not the kernel's work for its
system calls (SQLite's writes among them), nor the Redis server's, nor time spent waiting.

Under callgrind the worker runs about 40 times slower than at full speed (a saga step job takes
about 270 ms instead of 7). The SQLite checkpointer thread wakes on the clock, every 0.1 s, so
left alone it would checkpoint about 40 times as often per job as it does at full speed, and
the writer would restart the log (and clear its 32 KB index) as often: about 120,000
instructions a saga job that a real run spends about 3,000 on. The children stretch its
interval by the same factor.
"""
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from bench.noop import JOBS_PER_SAGA
from bench.report import table
from bench.services import ROOT, worker_env

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
CALLGRIND_SLOWDOWN = 40  # how much slower the worker runs under callgrind, measured
MODES = ("raw-fill", "raw-work", "saga-fill", "saga-work")


def section(bench, jobs):
    """Count the four children (two at a time, one per core) and print the table; summary lines."""
    if shutil.which("valgrind") is None:
        print("\nInstructions per job: skipped, valgrind is not installed (apt-get install valgrind)")
        return []
    databases = [bench.databases.fresh(bench.redis_url)[1] for _ in MODES]  # made here: not thread-safe
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted = dict(zip(MODES, pool.map(lambda mode, url: _count(bench, mode, url, jobs), MODES, databases)))
    raw = (counted["raw-work"] - counted["raw-fill"]) / jobs
    saga = (counted["saga-work"] - counted["saga-fill"]) / jobs
    table(f"Instructions per job: one app.worker.SagaSimpleWorker under callgrind, {jobs:,} jobs of each kind",
          ["job", "instructions per job", "extra over raw"],
          [["raw no-op job", f"{raw:,.0f}", "-"], ["saga step job", f"{saga:,.0f}", f"{saga - raw:,.0f}"]],
          note="user-space instructions of the worker process, under a fixed hash seed: the raw job's count "
               "within a few per cent from run to run, whatever the load; system calls' kernel work, "
               "Redis's and waiting are not in them.")
    return [("P1 by instructions, raw job / saga step job", raw / saga, "(info)", "")]


def _count(bench, mode, url, jobs):
    """Instructions one child executed, on the database at `url`."""
    database = MODES.index(mode) + 1  # each child on its own Redis database of the private server
    env = worker_env(url, re.sub(r"/\d+$", f"/{database}", bench.redis_url))
    env["PYTHONHASHSEED"] = "0"  # the same string hashes, so the same dict and set layouts, every run
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, "-m", "bench.instructions", mode, str(jobs)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found or "LEFT 0" not in done.stdout:
        raise RuntimeError(f"the {mode} child failed:\n{done.stdout}\n{done.stderr[-2000:]}")
    return int(found[-1])


def child(mode, jobs):
    """In a child: fill the queue (emptied again for *-fill), work it, and print what is left on it."""
    import bench.noop  # noqa: F401  (registers the benchmark saga type)
    import jobs as saga_jobs
    from app.extensions import saga_queue
    from app.saga.kept_connection import Checkpointer
    from app.worker import SagaSimpleWorker
    from bench.load import enqueue_noops, flush_redis, submit_sagas
    Checkpointer.INTERVAL *= CALLGRIND_SLOWDOWN  # as many checkpoints per job as at full speed
    app = saga_jobs.get_app()
    flush_redis(app)
    if mode.startswith("raw"):
        enqueue_noops(app, jobs)
    else:
        submit_sagas(app, jobs // JOBS_PER_SAGA)
    with app.app_context():
        queue = saga_queue()
    if mode.endswith("fill"):
        queue.empty()  # its worker then starts and stops as the other's does, with no job to run
    SagaSimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")
    print(f"LEFT {queue.count}", flush=True)
    flush_redis(app)


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]))
