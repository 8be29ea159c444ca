"""`python -m bench [--quick] [--database-url URL] [--only P1,INSTR,P2,P3,MEM,R8,PROF]`: run and print tables."""
import argparse
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace

os.environ.setdefault("LOG_LEVEL", "WARNING")  # before the app configures its logger

from bench import instructions, profiling, sections  # noqa: E402
from bench.report import table  # noqa: E402
from bench.services import ROOT, Bench, Databases, RedisServer  # noqa: E402


@dataclass(frozen=True)
class Preset:
    """How big each benchmark is."""

    sagas: int
    fork_sagas: int
    repeat: int
    dashboard_sizes: tuple
    dashboard_repeats: int
    latency_repeats: int
    memory_sagas: tuple
    profile_sagas: int
    flat_sagas: int
    instruction_jobs: int


PRESETS = {
    "quick": Preset(sagas=60, fork_sagas=15, repeat=1, dashboard_sizes=(1_000, 10_000), dashboard_repeats=15,
                    latency_repeats=5, memory_sagas=(100, 300), profile_sagas=40, flat_sagas=2,
                    instruction_jobs=100),
    "full": Preset(sagas=500, fork_sagas=60, repeat=3, dashboard_sizes=(1_000, 100_000), dashboard_repeats=25,
                   latency_repeats=20, memory_sagas=(1_000, 3_000), profile_sagas=300, flat_sagas=20,
                   instruction_jobs=300),
}
PARTS = ("P1", "INSTR", "P2", "P3", "MEM", "R8", "PROF")


def main():
    """Parse the options, start Redis, run the chosen parts and print the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a minute or two")
    parser.add_argument("--database-url", help="run on PostgreSQL: URL of any database on the server "
                                               "(e.g. postgresql://postgres@127.0.0.1:5432/postgres); the "
                                               "bench creates bench_<pid>_<n> databases and drops them. "
                                               "Default: SQLite files in a temp dir")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated subset of {PARTS} "
                                                                 "(P1 includes P4)")
    parser.add_argument("--profile-out", help="keep the saga worker's cProfile here (.pstats)")
    parser.add_argument("--sagas", type=int, help="sagas per P1/P4 run on SimpleWorker (full: 500)")
    parser.add_argument("--fork-sagas", type=int, help="sagas per P1/P4 run on the forking Worker (full: 60)")
    parser.add_argument("--repeat", type=int, help="P1: rounds of 1-worker runs, the median reported; R8: best of this many (full: 3)")
    parser.add_argument("--memory-sagas", help="FEW,MANY sagas for the memory run (full: 1000,3000)")
    args = parser.parse_args()
    preset = _sized(PRESETS["quick" if args.quick else "full"], args)
    parts = {part.strip().upper() for part in args.only.split(",")}
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmpdir, RedisServer() as redis_server, \
            Databases(tmpdir, args.database_url) as databases:
        bench = Bench(redis_server.url, databases)
        _header(bench, preset, redis_server)
        summary = []
        steps = (("P1", lambda: sections.throughput(bench, preset)),
                 ("INSTR", lambda: instructions.section(bench, preset.instruction_jobs)),
                 ("P2", lambda: sections.dashboard_scaling(bench, preset)),
                 ("P3", lambda: sections.latency_section(bench, preset)),
                 ("MEM", lambda: sections.memory_section(bench, preset)),
                 ("R8", lambda: sections.flat_cost(bench, preset)),
                 ("PROF", lambda: profiling.section(
                     bench, preset, args.profile_out or os.path.join(tmpdir, "saga.pstats"))))
        for part, run in steps:
            if part in parts:
                began = time.monotonic()
                summary += run()
                print(f"  ({part} took {time.monotonic() - began:.0f} s)")
    if summary:
        table("Summary", ["measure", "value", "target", ""], [list(line) for line in summary])
    print(f"\n  took {time.monotonic() - started:.0f} s; load average now {_load()}")


def _sized(preset, args):
    """The preset with the sizes given on the command line."""
    changes = {key: getattr(args, key) for key in ("sagas", "fork_sagas", "repeat") if getattr(args, key)}
    if args.memory_sagas:
        changes["memory_sagas"] = tuple(int(count) for count in args.memory_sagas.split(","))
    return replace(preset, **changes)


def _header(bench, preset, redis_server):
    """Say what is measured on what."""
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    print(f"saga bench: commit {commit}; Python {platform.python_version()}; {os.cpu_count()} cores; "
          f"load average {_load()}")
    print(f"  Redis: private redis-server on port {redis_server.port}; database: {bench.databases.kind}")
    print(f"  sizes: {preset}")


def _load():
    """The 1/5/15-minute load averages."""
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
