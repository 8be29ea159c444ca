"""A worker process for the benchmark: one of the worker classes, plus a job counter.

Run as `python -m bench.workers KIND QUEUE [options]` with the app's settings in the environment.
It builds its worker, prints READY, waits for GO on stdin (so timing excludes start-up and two
workers start together), works, and prints one `RESULT {json}` line.
"""
import argparse
import cProfile
import json
import os
import resource
import signal
import sys
import threading
import time
from collections import Counter, defaultdict

import redis
from rq import Queue, SimpleWorker, Worker

import bench.noop  # noqa: F401  (registers the benchmark saga type in the worker process)
from app.worker import SagaSimpleWorker, SagaWorker
from bench.counters import installed


class Counting:
    """Counts the jobs this worker ran, per function, and optionally what each one cost."""

    counters = None
    marks = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.per_function = defaultdict(Counter)
        self.executed, self.memory_at = 0, {}
        self.first = self.last = None  # (wall time, CPU seconds) as the first job starts, the last ends

    def execute_job(self, job, queue):
        """Run the job as the worker class does, and count it."""
        before = self.counters.snapshot() if self.counters else None
        if self.first is None:
            self.first = (time.time(), self.cpu_seconds())
        started = time.perf_counter()
        super().execute_job(job, queue)
        self.last = (time.time(), self.cpu_seconds())
        name = job.func_name
        self.per_function[name]["jobs"] += 1
        self.per_function[name]["seconds"] += time.perf_counter() - started
        if before is not None:
            self.per_function[name].update(self.counters.snapshot() - before)
        self.executed += 1
        if self.executed in self.marks:
            self.memory_at[self.executed] = memory_kb()

    def cpu_seconds(self):
        """CPU of this process, its finished children, and the forking worker's live bookkeeper."""
        keeper = getattr(self, "bookkeeper", None)
        return cpu_seconds() + (process_cpu_seconds(keeper.pid) if keeper and keeper.pid else 0.0)


KINDS = {
    "saga-simple": SagaSimpleWorker,  # app.worker: app built once, jobs run in-process
    "saga-fork": SagaWorker,  # app.worker: app built before fork; its bookkeeper claims and settles steps
    "rq-simple": SimpleWorker,
    "rq-fork": Worker,
}


def memory_kb():
    """Peak and current resident memory of this process, in KiB (from /proc)."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0])
    return fields


def process_cpu_seconds(pid):
    """User plus system CPU time of another live process (from /proc, in clock ticks)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    """User plus system CPU time of this process and of its finished children (work horses)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv=None):
    """Build the worker, wait for GO, work, and report."""
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("queue")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--idle", action="store_true", help="wait for jobs until SIGTERM (not burst)")
    parser.add_argument("--count", action="store_true", help="count SQL statements and Redis round trips")
    parser.add_argument("--profile", help="write a cProfile of the work loop to this file")
    parser.add_argument("--marks", default="", help="job counts at which to sample memory, e.g. 6000,60000")
    args = parser.parse_args(argv)
    worker_class = type(f"Counting{KINDS[args.kind].__name__}", (Counting, KINDS[args.kind]), {})
    connection = redis.Redis.from_url(args.redis_url)
    worker = worker_class([Queue(args.queue, connection=connection)], connection=connection)
    counters = worker.counters = installed() if args.count else None
    worker.marks = {int(mark) for mark in args.marks.split(",") if mark}
    print("READY", flush=True)
    if sys.stdin.readline() != "GO\n":
        return  # the benchmark went away before starting us
    threading.Thread(target=_stop_when_orphaned, daemon=True).start()
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    worker.work(burst=not args.idle, logging_level="WARNING")
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    # Timed from the first job's start to the last job's end: RQ's start-up and its teardown
    # (which waits up to a second for its pub/sub thread) are not work.
    (started, cpu_started), (finished, cpu_finished) = worker.first or (0, 0), worker.last or (0, 0)
    result = {"started": started, "finished": finished, "cpu": cpu_finished - cpu_started,
              "memory_kb": memory_kb(), "memory_at": worker.memory_at,
              "per_function": {name: dict(values) for name, values in worker.per_function.items()},
              "totals": dict(counters.values) if counters else {}}
    print("RESULT " + json.dumps(result), flush=True)


def _stop_when_orphaned():
    """Stop (warm shutdown) once the benchmark closes our stdin, e.g. because it died."""
    sys.stdin.read()
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
