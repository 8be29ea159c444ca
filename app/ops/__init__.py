"""Operations: Prometheus metrics, health probes and per-step statistics for operators."""
from prometheus_client import CollectorRegistry

from app.ops.metrics import SagaCollector
from app.ops.tally import EventTally


def register_ops(app):
    """Register the ops blueprint and give the app its own metrics registry.

    A registry per app, not prometheus_client's global one: tests build many apps per process.
    """
    from app.ops.views import bp

    tally = EventTally()
    registry = CollectorRegistry()
    registry.register(SagaCollector(tally))
    app.extensions["saga_metrics"] = registry
    app.extensions["saga_event_tally"] = tally
    app.register_blueprint(bp)
