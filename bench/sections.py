"""Each benchmark as a section: run it, print its table, return its summary lines."""
import os
import statistics

from bench import dashboard, latency, memory
from bench.noop import JOBS_PER_SAGA, LONG_TYPE, RAW_CHAIN, SHORT_TYPE, STEPS
from bench.report import table, verdict
from bench.throughput import raw_run, saga_run

# family: (bench worker kind for sagas, plain RQ kind, how the table names them)
CLASSES = {"simple": ("saga-simple", "rq-simple", "app.worker.SagaSimpleWorker", "rq SimpleWorker"),
           "fork": ("saga-fork", "rq-fork", "app.worker.SagaWorker (forks)", "rq Worker (forks)")}


def throughput(bench, preset):
    """P1 (saga vs raw jobs/s, per worker class) and P4 (2 workers vs 1); returns summary lines."""
    summary, rows = [], []
    for family, (kind, rq_kind, name, rq_name) in CLASSES.items():
        sagas = preset.sagas if family == "simple" else preset.fork_sagas
        rounds, two = _bursts(bench, kind, rq_kind, sagas, preset.repeat)
        ratios = [one["saga"].rate / one["raw"].rate for one in rounds]
        one = rounds[ratios.index(statistics.median_low(ratios))]  # the median round, shown in full
        workload = f"{sagas} sagas x {STEPS} no-op steps"
        for label, run, workers, worker_name in (
                ("raw no-op jobs", one["rq"], 1, rq_name), ("raw no-op jobs", one["raw"], 1, name),
                ("raw, each enqueues the next", one["chain"], 1, name), (workload, one["saga"], 1, name),
                ("raw no-op jobs", two["raw"], 2, name),
                (workload, two["saga"], 2, name)):
            steps_per_s = run.rate * STEPS / JOBS_PER_SAGA if run is one["saga"] or run is two["saga"] else None
            rows.append([worker_name, workers, label, run.jobs, run.seconds, run.rate, run.cpu_ms_per_job,
                         steps_per_s, "; ".join(run.problems) or "ok"])
        ratio = one["saga"].rate / one["raw"].rate
        summary += [(f"P1 saga/raw jobs per s, {name}", f"{ratio:.3f}", ">= 0.9", verdict(ratio, 0.9, True)),
                    ("   each round", " ".join(f"{each:.3f}" for each in ratios), "(info)", ""),
                    (f"   same, raw on plain {rq_name}", one["saga"].rate / one["rq"].rate, "(info)", ""),
                    ("   same, by worker CPU per job", one["raw"].cpu_ms_per_job / one["saga"].cpu_ms_per_job,
                     "(info)", ""),
                    ("   same, vs raw jobs that enqueue the next", one["saga"].rate / one["chain"].rate,
                     "(info)", ""),
                    ("   ceiling: raw enqueueing the next / raw", one["chain"].rate / one["raw"].rate,
                     "(info)", ""),
                    (f"P4 2 workers / 1, sagas, {name}", two["saga"].rate / one["saga"].rate, "(report)", ""),
                    ("   same, raw jobs", two["raw"].rate / one["raw"].rate, "(report)", "")]
    table(f"P1 step throughput and P4 scale-out (burst workers, pre-filled queue; load {_load()})",
          ["worker class", "workers", "workload", "jobs run", "wall s", "jobs/s", "CPU ms/job", "steps/s",
           "check"], rows,
          note=f"jobs = RQ jobs executed: a saga runs {JOBS_PER_SAGA} step jobs (with no on_complete hook, its last "
               "step completes it). "
               "raw = as many no-op jobs, with the engine's job options.\n  'each enqueues the next' = "
               f"chains of {JOBS_PER_SAGA} raw jobs, each enqueueing its successor as a saga step must.\n"
               "  jobs/s = jobs / wall time from the first job's start to the last job's end. CPU ms/job = "
               "user+sys CPU of the worker processes and their work horses / jobs.\n"
               f"  1-worker rows: the median of {preset.repeat} rounds by P1, each round running the raw and "
               "the saga burst back to back (in turn, which first).")
    return summary


def _bursts(bench, kind, rq_kind, sagas, repeat):
    """The 1-worker runs, in `repeat` rounds, and the 2-worker runs.

    A round runs the raw burst and the saga burst back to back, so that both meet the same load
    on this shared machine; which goes first alternates, so a load that rises or falls through a
    round favours neither. P1 is then the median of the rounds' ratios.
    """
    jobs, rounds = sagas * JOBS_PER_SAGA, []
    for number in range(repeat):
        runs = {}
        for key in ("raw", "saga") if number % 2 == 0 else ("saga", "raw"):
            runs[key] = saga_run(bench, kind, sagas) if key == "saga" else raw_run(bench, kind, jobs)
        runs["chain"] = raw_run(bench, kind, jobs, chains=True)
        runs["rq"] = raw_run(bench, rq_kind, jobs)
        rounds.append(runs)
    two = {"raw": raw_run(bench, kind, jobs, 2), "saga": saga_run(bench, kind, sagas, 2)}
    return rounds, two


def flat_cost(bench, preset):
    """Rule 8: cost per step job in a 50-step vs a 5-step saga (steps return small results)."""
    runs = {SHORT_TYPE: [], LONG_TYPE: []}
    for _ in range(preset.repeat):
        for saga_type, sagas in ((SHORT_TYPE, preset.flat_sagas * 10), (LONG_TYPE, preset.flat_sagas)):
            runs[saga_type].append(saga_run(bench, "saga-simple", sagas, 1, "--count", saga_type=saga_type))
    short, long = (min(runs[saga_type], key=lambda run: run.cpu_ms_per_job)
                   for saga_type in (SHORT_TYPE, LONG_TYPE))
    rows = [[run.label, run.jobs, run.rate, run.cpu_ms_per_job, _per_job(run, "sql statements"),
             _per_job(run, "sql parameter bytes"), "; ".join(run.problems) or "ok"] for run in (short, long)]
    table(f"Rule 8: cost per job, 50-step vs 5-step sagas (app.worker.SagaSimpleWorker, "
          f"best of {preset.repeat})",
          ["workload", "jobs run", "jobs/s", "CPU ms/job", "SQL/job", "SQL bytes/job", "check"], rows,
          note="SQL bytes = the size of the parameters sent with the statements (the saga's context is one).")
    ratio = long.cpu_ms_per_job / short.cpu_ms_per_job
    return [("Rule 8 CPU per job, 50-step / 5-step saga", ratio, "~1.0 (flat)", verdict(ratio, 1.15, False)),
            ("   SQL bytes per job, 50-step / 5-step", _per_job(long, "sql parameter bytes")
             / _per_job(short, "sql parameter bytes"), "~1.0 (flat)", "")]


def _per_job(run, counter):
    """A counted quantity per job over a run's workers."""
    return sum(report.totals.get(counter, 0) for report in run.reports) / run.jobs


def dashboard_scaling(bench, preset):
    """P2: the overview fragment and saga list API at a small and a large table."""
    small, large = preset.dashboard_sizes
    apps = {}
    for size in (small, large):
        apps[size], _url = bench.databases.fresh(bench.redis_url)
        dashboard.fill(apps[size], 1, size)
    results = dashboard.measure(apps, preset.dashboard_repeats)
    at_small, at_large = results[small], results[large]
    rows, summary = [], []
    for name, first in at_small.items():
        second = at_large[name]
        usable = first["status"] in (200, None) and second["status"] in (200, None)
        ratio = second["ms"] / first["ms"] if usable else None
        rows.append([name, first["status"] or "-", first["ms"], second["ms"], ratio, first["sql"], second["sql"]])
        if name.startswith(("overview", "saga list")):
            label = f"P2 {name.split('  ')[0]}, {large:,} / {small:,} sagas"
            summary.append((label, ratio, "<= 1.3",
                            verdict(ratio, 1.3, False) if usable else f"n/a (HTTP {first['status']})"))
    table(f"P2 dashboard scaling: median of {preset.dashboard_repeats} calls each (Flask test client, "
          f"sizes alternated), {small:,} vs {large:,} sagas with 5 steps and 4 events each",
          ["probe", "HTTP", f"ms @{small:,}", f"ms @{large:,}", "ratio", "SQL/call", f"SQL @{large:,}"], rows,
          note="the last rows time, on their own and uncached, the queries behind the overview's figures: what "
               "a poll pays whenever those are recomputed.")
    return summary


def latency_section(bench, preset):
    """P3: one saga end to end vs six dependent raw jobs, on an idle worker of each class."""
    rows, summary = [], []
    for kind, _rq, name, _rq_name in CLASSES.values():
        result = latency.measure(bench, kind, preset.latency_repeats)
        rows += [[name, variant, median, p90] for variant, (median, p90) in result.items()]
        ratio = result["saga"][0] / result["dependent"][0]
        summary += [(f"P3 saga / {RAW_CHAIN} dependent raw jobs, {name}", ratio, "<= 1.2", verdict(ratio, 1.2, False)),
                    ("   same, vs 6 self-enqueued raw jobs", result["saga"][0] / result["self-enqueued"][0],
                     "(info)", "")]
    table(f"P3 latency: submission to done, {preset.latency_repeats} rounds after {latency.WARM_UP} "
          f"warm-up (load {_load()})", ["worker class", "variant", "median ms", "p90 ms"], rows,
          note=f"saga = start_saga() until its row says COMPLETED ({JOBS_PER_SAGA} step jobs); dependent = "
               f"{RAW_CHAIN} no-op jobs chained with depends_on;\n  self-enqueued = a no-op job that enqueues the next, "
               f"{RAW_CHAIN} deep. Completion is polled every {latency.POLL_SECONDS * 1000:g} ms.")
    return summary


def memory_section(bench, preset):
    """Peak RSS of one app.worker.SagaSimpleWorker after few and after many sagas."""
    few, many = preset.memory_sagas
    samples = memory.measure(bench, "saga-simple", few, many)
    table("Worker memory: one app.worker.SagaSimpleWorker (jobs run in-process), idle worker fed sagas",
          ["", "peak RSS MiB", "RSS MiB"],
          [[f"after {count:,} sagas", sample["VmHWM"], sample["VmRSS"]]
           for count, sample in sorted(samples.items())])
    growth = samples[many]["VmHWM"] - samples[few]["VmHWM"]
    return [(f"Memory: peak RSS growth {few:,} -> {many:,} sagas, MiB", growth, "~0 (noise)", "")]


def _load():
    """The 1-minute load average, to read the timings against."""
    return f"{os.getloadavg()[0]:.1f}"
