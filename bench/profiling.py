"""Where a saga worker's time goes: cProfile of one SimpleWorker, SQL and Redis counts per job."""
import os
import pstats

from bench.noop import JOBS_PER_SAGA
from bench.report import table
from bench.services import ROOT
from bench.throughput import raw_run, saga_run

# Self time is grouped by where the code lives; the first matching fragment wins.
CATEGORIES = (
    ("DB driver (sqlite3/psycopg C calls)", ("sqlite3", "psycopg")),
    ("SQLAlchemy (ORM, Core, pool)", ("/sqlalchemy/", "flask_sqlalchemy")),
    ("socket I/O (Redis, PostgreSQL)", ("_socket", "select", "selectors")),
    ("redis-py", ("/redis/",)),
    ("RQ", ("/rq/",)),
    ("Flask/Werkzeug (app context)", ("/flask/", "/werkzeug/")),
    ("logging", ("/logging/",)),
    ("json", ("/json/",)),
    ("saga engine (app/, jobs/)", (os.path.join(ROOT, "app"), os.path.join(ROOT, "jobs"))),
    ("benchmark counters (bench/)", (os.path.join(ROOT, "bench"),)),
)
COUNTED = ("sql statements", "sql SELECT", "sql UPDATE", "sql INSERT", "commits", "pool checkouts",
           "redis round trips")
ENGINE_FUNCTIONS = ("run_step", "_claim", "settle_attempt", "complete_saga", "lock_saga", "load_step",
                    "claim_step", "record", "commit", "enqueue", "attempt", "app_context")


def profile(bench, kind, sagas, path):
    """Raw and saga bursts under cProfile with counters; returns (raw run, saga run, raw profile path)."""
    raw_path = path + ".raw"
    raw = raw_run(bench, kind, sagas * JOBS_PER_SAGA, 1, "--count", "--profile", raw_path)
    saga = saga_run(bench, kind, sagas, 1, "--count", "--profile", path)
    return raw, saga, raw_path


def ms_by_category(path, jobs):
    """{category: profiled ms per job}."""
    per_job = pstats.Stats(path).total_tt * 1000 / jobs
    return {name: share * per_job for name, share in categories(path)}


def per_job(run):
    """{job function: {counter: per-job average}} from a counted run."""
    table = {}
    for name, values in run.reports[0].per_function.items():
        jobs = values["jobs"]
        table[name] = {key: value / jobs for key, value in values.items() if key != "jobs"}
        table[name]["jobs"] = jobs
    return table


def categories(path):
    """[(category, share of total self time)], largest first.

    A built-in (a C function: isinstance, dict.get, socket.recv...) has no file of its own, so
    its time is split among its callers' categories in proportion to what each caller spent in it.
    """
    stats = pstats.Stats(path).stats
    total = sum(entry[2] for entry in stats.values())
    shares = {}
    for key, (_cc, _nc, self_time, _cum, callers) in stats.items():
        if key[0] == "~" and callers and not _category(key).startswith(("DB driver", "socket")):
            spent = sum(caller[2] for caller in callers.values()) or 1.0
            for caller, timing in callers.items():
                name = _category(caller)
                shares[name] = shares.get(name, 0.0) + self_time * timing[2] / spent / total
        else:
            shares[_category(key)] = shares.get(_category(key), 0.0) + self_time / total
    return sorted(shares.items(), key=lambda item: -item[1])


def _category(key):
    """The category of a (file, line, function) profile key."""
    where = f"{key[0]}:{key[2]}"
    return next((label for label, marks in CATEGORIES if any(m in where for m in marks)), "other")


def engine_functions(path, jobs):
    """[(function, calls per job, share of worker time inclusive)] for the engine's hot spots."""
    stats = pstats.Stats(path)
    total = stats.total_tt
    rows = []
    for (filename, line, function), entry in stats.stats.items():
        inside = filename.startswith(ROOT) and "/bench/" not in filename
        if (inside or function == "app_context") and function in ENGINE_FUNCTIONS:
            short = os.path.relpath(filename, ROOT) if inside else os.path.basename(filename)
            rows.append((f"{short}:{line} {function}", entry[1] / jobs, entry[3] / total))
    return sorted(rows, key=lambda row: -row[2])


def section(bench, preset, path):
    """Profile one SimpleWorker over sagas; print counts per job, time by component, hot spots."""
    raw, saga, raw_path = profile(bench, "saga-simple", preset.profile_sagas, path)
    rows = []
    for label, run in (("raw no-op", raw), ("saga", saga)):
        for function, values in per_job(run).items():
            rows.append([label, function, values["jobs"]] + [values.get(key, 0.0) for key in COUNTED]
                        + [values["seconds"] * 1000])
        loop = run.reports[0].totals.get("redis round trips", 0) / run.jobs
        rows.append([label, "(whole worker loop)", run.jobs] + [None] * (len(COUNTED) - 1) + [loop, None])
    table(f"Profile: per job, {preset.profile_sagas} sagas on one app.worker.SagaSimpleWorker",
          ["workload", "job function", "jobs", "SQL", "SELECT", "UPDATE", "INSERT", "commits", "checkouts",
           "Redis RTs", "ms/job*"], rows,
          note="* inside execute_job, under cProfile (inflated). checkouts = connections taken from the pool "
               "(each one pinged: pool_pre_ping). Redis RTs = socket writes (a pipeline counts once).")
    raw_ms, saga_ms = ms_by_category(raw_path, raw.jobs), ms_by_category(path, saga.jobs)
    table("Profile: worker time per job by component (self time, cProfile wall clock: inflated, compare rows)",
          ["component", "raw ms/job", "saga ms/job", "extra ms/job", "share of extra"],
          [[name, raw_ms.get(name, 0.0), ms, ms - raw_ms.get(name, 0.0),
            f"{(ms - raw_ms.get(name, 0.0)) / (sum(saga_ms.values()) - sum(raw_ms.values())):.0%}"]
           for name, ms in saga_ms.items()],
          note="built-ins (isinstance, dict.get...) are charged to their callers.")
    table("Profile: engine hot spots (inclusive time, share of the worker loop)",
          ["function", "calls/job", "share"],
          [[name, calls, f"{share:.0%}"] for name, calls, share in engine_functions(path, saga.jobs)][:16])
    return []
