"""Finding an rq worker in the middle of a step, and killing or stopping it there."""
import os
import re
import signal
import time
from dataclasses import dataclass

from rq import Worker
from rq.scheduler import RQScheduler

from chaos.processes import children, process_table

STEP_JOB = re.compile(r"^saga-(\d+)-(\d+)-run-(\d+)$")


@dataclass(frozen=True)
class BusyStep:
    """A worker running one attempt of a step: who, which attempt, and its work horse."""

    service: object
    instance: str
    pid: int
    horse_pid: int | None
    saga_id: int
    index: int
    attempt: int
    runs_scheduler: bool


def busy_steps(stack):
    """Our workers that RQ says are running a step job right now."""
    services = {service.instance: service for service in stack.workers}
    scheduler_pid, found = scheduler_worker_pid(stack), []
    for worker in Worker.all(connection=stack.connect_redis()):
        service = services.get(worker.name)
        if service is None or not service.running() or worker.get_state() != "busy":
            continue
        match = STEP_JOB.match(worker.get_current_job_id() or "")
        if match:
            saga_id, index, attempt = map(int, match.groups())
            found.append(BusyStep(service, worker.name, service.pid, horse_of(service.pid),
                                  saga_id, index, attempt, service.pid == scheduler_pid))
    return found


def horse_of(worker_pid):
    """The work horse of a forking worker: the child that made itself a process group leader."""
    for child in children(worker_pid):
        try:
            if os.getpgid(child) == child:
                return child
        except ProcessLookupError:
            continue
    return None


def scheduler_worker_pid(stack):
    """The pid of the worker whose scheduler process holds RQ's scheduler lock, or None."""
    client = stack.connect_redis()
    holder = client.get(RQScheduler.get_locking_key("saga"))
    pid = holder and client.hget(f"rq:scheduler:{holder.decode()}", "pid")
    parent = process_table().get(int(pid)) if pid else None
    return parent[0] if parent else None


def step_running(connection, busy):
    """Whether the database says this attempt of the step is running now."""
    row = connection.execute("SELECT status, attempts FROM saga_steps WHERE saga_id = %s AND index = %s",
                             (busy.saga_id, busy.index)).fetchone()
    return row is not None and row[0] == "RUNNING" and row[1] == busy.attempt


def find_mid_step(stack, connection, rank, ranks, timeout):
    """A worker whose step attempt is running now, the best one by `rank` (0 to ranks - 1).

    A candidate of rank r is accepted once r / ranks of the time has passed without a better one.
    """
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < timeout:
        for busy in busy_steps(stack):
            if rank(busy) <= elapsed * ranks / timeout and busy.horse_pid and step_running(connection, busy):
                return busy
        time.sleep(0.05)
    return None


def kill_mid_step(stack, busy):
    """SIGKILL a worker and its work horse, as a power cut would; the supervisor replaces it."""
    stack.supervisor.expect_exit(busy.service)
    for pid in (busy.horse_pid, busy.pid):
        os.kill(pid, signal.SIGKILL)


def stop_gracefully(stack, busy, timeout=30.0):
    """SIGTERM a worker (warm shutdown) and wait for it to exit; returns its Exit or None."""
    stack.supervisor.expect_exit(busy.service)
    os.kill(busy.pid, signal.SIGTERM)
    return stack.supervisor.exit_of(busy.instance, timeout)
