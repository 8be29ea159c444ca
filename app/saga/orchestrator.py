"""The orchestrator: moves a saga forward one step job at a time, and decides each next move."""
from datetime import timedelta

from app import clock
from app.saga import compensation, dispatch, faults, handover, hotpath
from app.saga.definition import StepContext, get_definition
from app.saga.execution import attempt
from app.saga.hotpath import StepRun
from app.saga.journal import claim_step, load_step, lock_saga, move_saga, move_step, record
from app.saga.results import StepResults
from app.saga.states import SagaStatus as S
from app.saga.states import StepStatus as T

CANCELLED = "cancelled by an operator"


def run_step(saga_id, index, handed=None):
    """Claim one attempt of a step, run it, and record what happened.

    Handed a claim already made (in a forking worker's horse, or a SagaSimpleWorker: see
    app/saga/handover.py), the job hands the outcome back for the worker to settle when it can.
    """
    run = handed.run if handed else claim(saga_id, index)
    if run is hotpath.FORWARD:  # a SagaSimpleWorker's claim, left by the hot path to the general one
        run, handed = _claim(saga_id, index), None  # claimed here, so settled here
    if run is None:
        return
    outcome = perform(run)
    if handed and handover.return_outcome(outcome):
        return
    settle(run, outcome)


def claim(saga_id, index):
    """Claim the step for one attempt and commit: its StepRun, or None if there is nothing to run."""
    run = hotpath.claim(saga_id, index)
    return _claim(saga_id, index) if run is hotpath.FORWARD else run


def perform(run):
    """Run the claimed attempt's action (or fallback), with any injected fault; its Outcome."""
    step = get_definition(run.saga_type).step(run.index)
    fault = faults.fault_for(run.payload, step.name)
    action = step.fallback if run.using_fallback else step.action

    def call(context):
        faults.before_action(fault, run.variant_attempt, run.using_fallback, step.timeout_seconds)
        return action(context)

    return attempt(call, StepContext(run.saga_id, run.saga_type, run.payload, StepResults(run.saga_id),
                                     run.attempt))


def settle(run, outcome):
    """Record a finished attempt and take the saga's next move, unless it was superseded."""
    if outcome.ok and hotpath.succeed(run, outcome, get_definition(run.saga_type)):
        return
    saga = lock_saga(run.saga_id)
    step_row = load_step(run.saga_id, run.index)
    if step_row is None or step_row.status != T.RUNNING or step_row.attempts != run.attempt:
        return dispatch.rollback()  # superseded: the sweeper already settled this attempt
    settle_attempt(saga, step_row, outcome)
    dispatch.commit()


def _claim(saga_id, index):
    """The general claim, for what the hot path leaves: a cancel request or a passed deadline."""
    saga = lock_saga(saga_id)
    if saga is None or saga.status not in (S.PENDING, S.RUNNING) or saga.current_step != index:
        return dispatch.rollback()  # finished, compensating, or a stray job for another step
    if (saga.cancel_requested or clock.now() > saga.deadline_at) \
            and not get_definition(saga.type).past_pivot(index):
        return _stop_before_step(saga, index)
    step = claim_step(saga, index, (T.PENDING, T.RETRYING), T.RUNNING, "attempts", "step.started")
    if step is None:
        return dispatch.rollback()
    if saga.status == S.PENDING:
        move_saga(saga, S.RUNNING, "saga.started")
    run = StepRun(saga.id, saga.type, index, step.name, step.attempts, saga.payload,
                  step.fallback_from_attempt is not None, variant_attempt(step))
    dispatch.commit()
    return run


def _stop_before_step(saga, index):
    """A cancelled or overdue saga runs no further step: compensate what is done."""
    step = load_step(saga.id, index)
    reason = CANCELLED if saga.cancel_requested else "saga deadline exceeded"
    if step is not None and step.status == T.RETRYING:
        move_step(saga, step, T.FAILED, "step.failed", error=reason, error_type="Stopped")
    compensation.begin(saga, reason)
    dispatch.commit()


def variant_attempt(step):
    """The attempt number within the current variant (the action, or its fallback)."""
    return step.attempts - (step.fallback_from_attempt or 0)


def settle_attempt(saga, step, outcome, actor="orchestrator"):
    """Record a finished attempt of a RUNNING step and decide the saga's next move."""
    saga_definition = get_definition(saga.type)
    definition = saga_definition.step(step.index)
    step.finished_at = clock.now()
    fields = dict(attempt=step.attempts, duration_ms=round(outcome.duration_ms, 3),
                  error=outcome.error, error_type=outcome.error_type, actor=actor)
    if outcome.ok:
        _succeed(saga, step, outcome, fields)
    elif not outcome.transient and definition.fallback and step.fallback_from_attempt is None \
            and not saga.cancel_requested:
        step.fallback_from_attempt = step.attempts
        move_step(saga, step, T.RETRYING, "step.fallback", detail="switching to the fallback", **fields)
        dispatch.request_step(saga, step.index, step.attempts + 1)
    elif saga_definition.past_pivot(step.index) or \
            (outcome.transient and _may_retry(saga, step, definition)):
        _schedule_retry(saga, step, definition, outcome, fields)
    else:
        _fail(saga, step, outcome, fields)


def _may_retry(saga, step, definition):
    """Whether a transient failure earns another attempt."""
    in_time = clock.now() < saga.deadline_at
    return in_time and not saga.cancel_requested and variant_attempt(step) < definition.retry.attempts()


def _succeed(saga, step, outcome, fields):
    """Keep the result and move to the next step, or to completion after the last."""
    saga_definition = get_definition(saga.type)
    step.result, step.error, step.error_type = outcome.result, None, None
    move_step(saga, step, T.SUCCEEDED, "step.succeeded", **fields)
    if saga.cancel_requested and saga_definition.pivot_index is not None \
            and step.index >= saga_definition.pivot_index:
        saga.cancel_requested = False
        record(saga, "saga.cancel_refused", step=step, detail=f"{step.name} is past the point of no return")
    if saga.cancel_requested:
        compensation.begin(saga, CANCELLED)
    elif step.index + 1 < saga.step_count:
        saga.current_step = step.index + 1
        dispatch.request_step(saga, step.index + 1, 1)
    else:
        dispatch.request_completion(saga)


def _schedule_retry(saga, step, definition, outcome, fields):
    """Schedule the next attempt after an exponential, jittered delay."""
    delay = definition.retry.delay(variant_attempt(step))
    step.next_retry_at = clock.now() + timedelta(seconds=delay)
    step.error, step.error_type = outcome.error, outcome.error_type
    step.outcome_unknown = step.outcome_unknown or outcome.outcome_unknown  # any attempt may have acted
    saga.retries += 1
    move_step(saga, step, T.RETRYING, "step.retry_scheduled", detail=f"next attempt in {delay:.1f} s",
              **fields)
    dispatch.request_step(saga, step.index, step.attempts + 1, delay)


def _fail(saga, step, outcome, fields):
    """Fail the step for good and start compensating."""
    step.error, step.error_type = outcome.error, outcome.error_type
    step.outcome_unknown = step.outcome_unknown or outcome.outcome_unknown  # any attempt may have acted
    move_step(saga, step, T.FAILED, "step.timed_out" if outcome.timed_out else "step.failed", **fields)
    saga.error = f"{step.name}: {outcome.error}"
    compensation.begin(saga, f"{step.name} failed: {outcome.error}", actor=fields["actor"])


def complete_saga(saga_id):
    """Finish a saga whose steps all succeeded: run its completion and mark it COMPLETED."""
    saga = lock_saga(saga_id)
    if saga is None or saga.status != S.RUNNING:
        return dispatch.rollback()
    last = load_step(saga_id, saga.step_count - 1)
    if last is None or last.status != T.SUCCEEDED:
        return dispatch.rollback()
    if saga.cancel_requested:
        compensation.begin(saga, CANCELLED)
        return dispatch.commit()
    definition = get_definition(saga.type)
    if definition.on_complete is not None:
        definition.on_complete(StepContext(saga.id, saga.type, saga.payload, StepResults(saga.id), 1))
    saga.finished_at = clock.now()
    move_saga(saga, S.COMPLETED, "saga.completed")
    dispatch.commit()
