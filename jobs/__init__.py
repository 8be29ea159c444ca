"""RQ jobs: thin entries that take ids, enter the app context, and hand over to the orchestrator.

Any RQ worker runs them (`rq worker`, SimpleWorker, a pool, the embedded thread). The app is
created lazily, once per worker process, unless the process already bound one (`bind_app`).
"""
import threading

_app = None
_lock = threading.Lock()


def bind_app(app):
    """Use this app for jobs run in this process (the embedded worker and tests do this)."""
    global _app
    _app = app


def get_app():
    """The app jobs run in: the bound one, or one created from the environment."""
    global _app
    with _lock:
        if _app is None:
            from app import create_app
            _app = create_app()
        return _app


def process_step(saga_id, step_index):
    """Run one attempt of a saga step."""
    import app.saga.handover as handover  # `from app.saga import ...` runs importlib's Python per call
    import app.saga.orchestrator as orchestrator
    handed = handover.claim_for(saga_id, step_index)
    if handed:
        # A saga worker's job, already in the worker's app context: a forking worker's horse
        # inherited it and lives for this one job; a SagaSimpleWorker clears the session after
        # each job. So there is nothing to set up or tear down.
        return orchestrator.run_step(saga_id, step_index, handed)
    with get_app().app_context():
        orchestrator.run_step(saga_id, step_index)


def compensate_step(saga_id, step_index):
    """Run one attempt of a saga step's compensation."""
    from app.saga import compensation
    with get_app().app_context():
        compensation.compensate_step(saga_id, step_index)


def sweep():
    """Recover sagas whose work was lost or is overdue (run periodically by `rq cron`)."""
    from app.saga import sweeper
    with get_app().app_context():
        return dict(sweeper.sweep())


def prune():
    """Delete finished sagas' old history (run hourly by `rq cron`)."""
    from app.saga import retention
    with get_app().app_context():
        return retention.prune()


def complete_saga(saga_id):
    """Complete a saga whose steps have all succeeded."""
    from app.saga import orchestrator
    with get_app().app_context():
        orchestrator.complete_saga(saga_id)
