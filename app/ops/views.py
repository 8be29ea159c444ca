"""Operator endpoints: /metrics for Prometheus, /healthz and /readyz probes, per-step stats."""
from flask import Blueprint, current_app, jsonify, render_template, request
from prometheus_client.exposition import choose_encoder

from app.ops.health import readiness
from app.saga.stats import DEFAULT_WINDOW_MINUTES, MAX_WINDOW_MINUTES, step_stats

bp = Blueprint("ops", __name__)


@bp.get("/metrics")
def metrics():
    """Prometheus text format (or OpenMetrics if asked), from the database and RQ at scrape time."""
    encode, content_type = choose_encoder(request.headers.get("Accept"))
    return encode(current_app.extensions["saga_metrics"]), 200, {"Content-Type": content_type}


@bp.get("/healthz")
def healthz():
    """Liveness: the process is up and serving requests."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when the database and Redis answer and a worker is registered, else 503."""
    ready, checks = readiness()
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503


@bp.get("/ops/step-stats")
def step_stats_view():
    """Per-step latency and failure rate over the recent window: JSON, or the panel for htmx."""
    window = request.args.get("window", DEFAULT_WINDOW_MINUTES, type=int)
    window = min(max(window, 1), MAX_WINDOW_MINUTES)
    rows = step_stats(window)
    if request.headers.get("HX-Request"):
        return render_template("_step_stats.html", step_stats=rows, window_minutes=window)
    return jsonify(window_minutes=window, steps=rows)
