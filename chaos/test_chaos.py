"""Chaos test (issue 4): a few hundred orders against the served system while it is being broken.

Its own redis-server, a fresh PostgreSQL database, gunicorn and rq workers under a supervisor.
While orders with injected failures are placed, a worker is SIGKILLed mid-step, the web process
is restarted, a worker is stopped with SIGTERM mid-step, and Redis is restarted empty. Then every
saga must end, and the data must be consistent. Fails (never skips) without PostgreSQL or Redis.
"""
import contextlib
import os
import random
import secrets
import shutil
import tempfile
import time

import pytest

from chaos import checks, report, scenario
from chaos.processes import kill_descendants, set_subreaper
from chaos.stack import Stack, StackError
from chaos.traffic import Placement, plan_orders, seed_shop

ORDERS = int(os.environ.get("CHAOS_ORDERS", "200"))
WORKERS = int(os.environ.get("CHAOS_WORKERS", "3"))
PLACEMENT_SECONDS = float(os.environ.get("CHAOS_PLACEMENT_SECONDS", "90"))
QUIESCENCE_TIMEOUT = float(os.environ.get("CHAOS_QUIESCENCE_TIMEOUT", "180"))
KEEP = os.environ.get("CHAOS_KEEP") == "1"
SEED = int(os.environ.get("CHAOS_SEED") or secrets.randbelow(1_000_000))


@contextlib.contextmanager
def running_stack():
    """The whole served system, started for the test and always taken down after it.

    Logs go to a fresh directory (under CHAOS_LOG_DIR if set), kept only when the test fails;
    CHAOS_KEEP=1 keeps them and the database, for a post-mortem.
    """
    log_dir = tempfile.mkdtemp(prefix="chaos-", dir=os.environ.get("CHAOS_LOG_DIR"))
    set_subreaper(True)
    stack, passed = Stack(log_dir, workers=WORKERS), False
    try:
        try:
            stack.start()
        except (StackError, OSError) as exc:
            pytest.fail(f"the chaos stack could not start (PostgreSQL and redis-server are required): {exc}")
        yield stack
        passed = True
    finally:
        stack.stop(keep_database=KEEP)
        kill_descendants()
        set_subreaper(False)
        if KEEP:
            print(f"\nchaos database kept: {stack.db_url}")
        if passed and not KEEP:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            print(f"\nchaos logs kept in {log_dir}")


def test_orders_stay_consistent_through_crashes_and_restarts():
    """Every saga ends, nothing is oversold or captured twice, and every history is legal."""
    began, run_id = time.monotonic(), secrets.token_hex(3)
    print(f"\nchaos seed {SEED} (CHAOS_SEED={SEED} replays the same orders)")
    with running_stack() as stack:
        shop, db = seed_shop(stack.base_url, run_id), stack.connect_db()
        orders = plan_orders(random.Random(SEED), shop, ORDERS)
        with Placement(stack.base_url, run_id, orders, seconds=PLACEMENT_SECONDS) as placement:
            mayhem = scenario.break_things(stack, db, time.monotonic())
            stuck = scenario.wait_for_quiescence(db, placement, QUIESCENCE_TIMEOUT)
        if stuck:
            print(report.describe_stuck(db, stack.connect_redis(), stuck))
        problems, figures = evaluate(db, stack, shop, placement, mayhem)
        figures["elapsed"] = f"{time.monotonic() - began:.0f} s"
        print(report.figures_block(figures))
        assert not stuck and placement.done(), (
            f"not quiescent within {QUIESCENCE_TIMEOUT:.0f} s: {len(stuck)} saga(s) still active, "
            f"placement finished: {placement.done()}")
        assert not problems, f"{len(problems)} violation(s):\n" + "\n".join(problems[:40])


def evaluate(db, stack, shop, placement, mayhem):
    """Check every invariant; returns the violations and the figures of the run."""
    injected = {p.saga_id: p.body.get("faults", {}) for p in placement.results}
    stock_problems, oversold = checks.stock_violations(db, shop.initial_stock)
    payment_problems, double_captures = checks.payment_violations(db)
    transition_problems = checks.transition_violations(db)
    mayhem_problems, killed_by, stopped_by = scenario.mayhem_violations(db, mayhem)
    counts, (repairs, repaired_sagas) = checks.saga_counts(db), checks.sweeper_repairs(db)
    problems = [
        *placement_violations(db, placement.results), *stock_problems, *payment_problems,
        *checks.completion_violations(db), *checks.failed_violations(db, injected),
        *transition_problems, *checks.error_violations(db), *mayhem_problems,
    ]
    if not counts["COMPLETED"]:
        problems.append("no saga completed: a run where everything is undone proves little")
    exits = stack.supervisor.exits
    worker_exits = [e for e in exits if not e.instance.startswith("cron")]
    killed, stopped = mayhem.killed, mayhem.stopped
    return problems, {
        "sagas placed": sum(counts.values()),
        "completed": counts["COMPLETED"],
        "compensated": counts["COMPENSATED"],
        "failed (needs attention)": counts["FAILED"],
        "still active": sum(counts[status] for status in checks.ACTIVE),
        "recovered by the sweeper": f"{sum(repairs.values())} repairs of {repaired_sagas} sagas "
                                    f"{dict(sorted(repairs.items()))}",
        "workers killed (SIGKILL mid-step)": f"1 (saga {killed.saga_id} step {killed.index} attempt "
                                             f"{killed.attempt}, settled by: {killed_by}; it ran RQ's "
                                             f"scheduler: {killed.runs_scheduler})",
        "workers stopped (SIGTERM mid-step)": f"1 (saga {stopped.saga_id} step {stopped.index} attempt "
                                              f"{stopped.attempt}, settled by: {stopped_by})",
        "worker restarts": f"{len(worker_exits)} ({sum(not e.caused_by_test for e in worker_exits)} "
                           "after exits the test did not cause)",
        "cron restarts": len(exits) - len(worker_exits),
        "Redis restarts": stack.redis_restarts,
        "web restarts": stack.web_restarts,
        "submissions sent again": sum(p.tries > 1 for p in placement.results),
        "oversold units": oversold,
        "double captures": double_captures,
        "illegal transitions": len(transition_problems),
    }


def placement_violations(db, placed):
    """Every submission got a saga, exactly one per Idempotency-Key, through the web restart."""
    problems = [f"order {p.key} was never accepted: {p.error}" for p in placed if p.saga_id is None]
    stored = dict(db.execute("SELECT idempotency_key, id FROM sagas").fetchall())
    answered = {p.key: p.saga_id for p in placed if p.saga_id is not None}
    if stored != answered:
        missing = sorted(set(answered.items()) - set(stored.items()))
        unanswered = sorted(set(stored.items()) - set(answered.items()))
        problems.append(f"sagas in the database differ from the answers: missing {missing[:10]}, "
                        f"never answered {unanswered[:10]}")
    return problems
