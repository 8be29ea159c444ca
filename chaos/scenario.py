"""The chaos itself, on a timeline measured from the start of the placement, and the wait for calm."""
import time
from dataclasses import dataclass

from chaos import checks, workers
from chaos.traffic import STEPS

# Seconds after the placement starts; the placement goes on through all of them.
WEB_RESTART_AT, REDIS_RESTART_AT, KILL_AT, SIGTERM_AT = 6, 14, 24, 36
SEARCH_SECONDS = 20


@dataclass(frozen=True)
class Mayhem:
    """What was done: the attempts a worker was killed or stopped in, and how the stop ended."""

    killed: workers.BusyStep
    killed_in_hang: bool
    stopped: workers.BusyStep
    stopped_exit: object


def hang_check(db):
    """A predicate: whether a saga's step hangs on purpose (its worker stays mid-step a while)."""
    def hangs(saga_id, index):
        payload = db.execute("SELECT payload FROM sagas WHERE id = %s", (saga_id,)).fetchone()[0]
        return ((payload.get("faults") or {}).get(STEPS[index]) or {}).get("kind") == "hang"
    return hangs


def break_things(stack, db, started):
    """Restart the web and Redis, SIGKILL a worker mid-step, then SIGTERM another mid-step.

    The worker killed is, when it is busy with a step, the one running RQ's scheduler: the worst
    case, since delayed jobs (retries with backoff) then wait for another scheduler or the sweeper.
    """
    hangs = hang_check(db)
    _sleep_until(started + WEB_RESTART_AT)
    stack.restart_web()
    _sleep_until(started + REDIS_RESTART_AT)
    stack.restart_redis()
    _sleep_until(started + KILL_AT)

    def kill_rank(busy):
        """Best: the scheduler's worker in a hang (surely mid-step); then the scheduler's worker."""
        return (0 if busy.runs_scheduler else 2) + (0 if hangs(busy.saga_id, busy.index) else 1)

    killed = workers.find_mid_step(stack, db, kill_rank, 4, SEARCH_SECONDS)
    assert killed is not None, "no worker was seen in the middle of a step to SIGKILL"
    workers.kill_mid_step(stack, killed)
    killed_in_hang = hangs(killed.saga_id, killed.index)
    _sleep_until(started + SIGTERM_AT)
    stopped = workers.find_mid_step(stack, db, lambda busy: 0 if hangs(busy.saga_id, busy.index) else 1,
                                    2, SEARCH_SECONDS)
    assert stopped is not None, "no worker was seen in the middle of a step to SIGTERM"
    stopped_exit = workers.stop_gracefully(stack, stopped)
    return Mayhem(killed, killed_in_hang, stopped, stopped_exit)


def wait_for_quiescence(db, placement, timeout):
    """Wait until every order is placed and every saga is terminal; returns the sagas still active."""
    deadline = time.monotonic() + timeout
    placement.join(timeout)
    while time.monotonic() < deadline and (not placement.done() or checks.active_sagas(db)):
        time.sleep(1)
    return checks.active_sagas(db)


def mayhem_violations(db, mayhem):
    """The SIGTERMed worker finished its attempt itself; the SIGKILLed one's was settled by the sweeper."""
    problems = []
    killed, stopped = mayhem.killed, mayhem.stopped
    killed_by = checks.attempt_settled_by(db, killed.saga_id, killed.index, killed.attempt)
    stopped_by = checks.attempt_settled_by(db, stopped.saga_id, stopped.index, stopped.attempt)
    if mayhem.stopped_exit is None or mayhem.stopped_exit.returncode != 0:
        problems.append(f"the worker sent SIGTERM did not exit cleanly: {mayhem.stopped_exit}")
    if stopped_by != "orchestrator":
        problems.append(f"the attempt of the SIGTERMed worker was settled by {stopped_by}, not by itself")
    # A kill outside a hang may land just after the attempt finished; inside one it cannot.
    if killed_by is None or (mayhem.killed_in_hang and killed_by != "sweeper"):
        problems.append(f"the attempt of the SIGKILLed worker was settled by {killed_by}, not the sweeper")
    return problems, killed_by, stopped_by


def _sleep_until(moment):
    """Sleep until a monotonic moment (at once if it is past)."""
    time.sleep(max(0.0, moment - time.monotonic()))
