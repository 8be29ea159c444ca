"""Worker processes seen from the benchmark: start, release together, collect their reports."""
import json
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from bench.services import ROOT


@dataclass
class WorkerReport:
    """What a worker process printed when it stopped."""

    started: float
    finished: float
    cpu: float
    memory_kb: dict
    memory_at: dict
    per_function: dict
    totals: dict

    @property
    def jobs(self):
        """Jobs this worker ran, whatever their function."""
        return sum(values["jobs"] for values in self.per_function.values())


class WorkerProcess:
    """One `python -m bench.workers` process."""

    def __init__(self, kind, queue, env, redis_url, *options):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, "-m", "bench.workers", kind, queue, "--redis-url", redis_url, *options]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr)

    def wait_ready(self):
        """Block until the worker has built its app and waits for GO."""
        self._expect("READY")

    def go(self):
        """Let the worker start working."""
        self.process.stdin.write("GO\n")
        self.process.stdin.flush()

    def stop(self):
        """Ask an idle worker for a warm shutdown."""
        self.process.send_signal(signal.SIGTERM)

    def report(self):
        """Wait for the worker to finish and return its report."""
        line = self._expect("RESULT ")
        self.process.wait(timeout=60)
        return WorkerReport(**json.loads(line[len("RESULT "):]))

    def _expect(self, prefix):
        """Read stdout until a line with the prefix; fail with the worker's stderr if it dies."""
        for line in self.process.stdout:
            if line.startswith(prefix):
                return line.strip()
        self.stderr.seek(0)
        raise RuntimeError(f"worker exited without {prefix.strip()}:\n{self.stderr.read()[-4000:]}")


def run_burst(kind, count, queue, env, redis_url, *options):
    """Run `count` workers in burst mode from one start signal; returns (jobs, seconds, reports)."""
    workers = [WorkerProcess(kind, queue, env, redis_url, *options) for _ in range(count)]
    for worker in workers:
        worker.wait_ready()
    for worker in workers:
        worker.go()
    reports = [worker.report() for worker in workers]
    working = [r for r in reports if r.jobs]  # a second worker may find nothing left to do
    seconds = max(r.finished for r in working) - min(r.started for r in working)
    return sum(r.jobs for r in reports), seconds, reports

