"""The benchmark's workloads: a saga of five no-op steps, and raw no-op RQ jobs to compare with.

Both the process that submits work and every worker process import this module, so the saga
type is registered wherever its jobs run.
"""
from rq import Queue, get_current_job

from app.saga.definition import SagaDefinition, Step, register

SAGA_TYPE = "bench_noop"
STEPS = 5
JOBS_PER_SAGA = STEPS  # five step jobs: with no on_complete hook, the last step completes the saga
RAW_CHAIN = 6  # P3 compares one saga with a chain of six dependent raw jobs (the measure)
# The options the engine gives its own jobs (app/saga/dispatch.py), so raw jobs cost RQ the same.
JOB_OPTIONS = {"result_ttl": 0, "job_timeout": 30, "failure_ttl": 7 * 24 * 3600}


def noop_step(context):
    """A saga step that does nothing."""


NOOP_SAGA = register(SagaDefinition(
    name=SAGA_TYPE,
    steps=tuple(Step(f"S{i}", noop_step) for i in range(1, STEPS + 1)),
    description="benchmark: five no-op steps",
))


def small_result_step(context):
    """A saga step that returns a small result, as real steps do (an id, a status)."""
    return {"reference": f"{context.saga_id}-{context.attempt}", "note": "x" * 100}


# Rule 8 (cost per step stays flat): the same step in a short and a long saga.
SHORT_TYPE, LONG_TYPE = "bench_results_5", "bench_results_50"
for _name, _count in ((SHORT_TYPE, 5), (LONG_TYPE, 50)):
    register(SagaDefinition(
        name=_name, steps=tuple(Step(f"S{i}", small_result_step) for i in range(1, _count + 1)),
        description=f"benchmark: {_count} steps that return a small result"))


def noop():
    """A raw RQ job that does nothing."""


def chain(remaining, done_key):
    """A raw job that enqueues its successor, as a saga step does; the last one signs off."""
    job = get_current_job()
    if remaining <= 1:
        job.connection.rpush(done_key, "done")
        return
    Queue(job.origin, connection=job.connection).enqueue(chain, remaining - 1, done_key, **JOB_OPTIONS)
