"""Watching sagas: the overview, the needs-attention list and one saga's live page."""
from flask import request

from app.dashboard import bp
from app.dashboard.actions import saga_page
from app.dashboard.forms import SagaFilter
from app.dashboard.render import is_fragment, page_or_fragment
from app.saga import queries
from app.saga.stats import DEFAULT_WINDOW_MINUTES, step_stats
from app.saga.states import ACTIVE_SAGA, SagaStatus

PAGE_SIZE = 20
COUNTED = [SagaStatus.RUNNING, SagaStatus.PENDING, SagaStatus.COMPENSATING, SagaStatus.COMPLETED,
           SagaStatus.COMPENSATED, SagaStatus.FAILED]


@bp.get("/")
def overview():
    """Counts, recent throughput and the newest sagas, filtered; the live part polls itself.

    The full page also has the step-latency panel, which refreshes itself on its own URL.
    """
    form = SagaFilter(request.args)
    valid = form.validate()
    status, saga_type, before = (form.status.data, form.type.data, form.before.data) if valid else (None,) * 3
    sagas, cursor = queries.list_sagas(status or None, saga_type or None, before, PAGE_SIZE)
    live = not before or any(saga.status in ACTIVE_SAGA for saga in sagas)
    return page_or_fragment(
        "dashboard/overview.html", "dashboard/_overview_live.html", 200 if valid else 422,
        form=form, sagas=sagas, cursor=cursor, live=live, steps=queries.steps_of([s.id for s in sagas]),
        counts=queries.recent(queries.status_counts, saga_type or None), counted=COUNTED,
        throughput=queries.recent(queries.recent_throughput), filters=_filters(status, saga_type), before=before,
        step_stats=None if is_fragment() else step_stats(DEFAULT_WINDOW_MINUTES),
        window_minutes=DEFAULT_WINDOW_MINUTES)


@bp.get("/attention")
def attention():
    """Every saga that waits for an operator (FAILED: a compensation could not be done)."""
    form = SagaFilter(request.args)
    before = form.before.data if form.validate() else None
    rows, cursor = queries.needs_attention(before, PAGE_SIZE)
    return page_or_fragment("dashboard/attention.html", "dashboard/_attention_list.html",
                            rows=rows, cursor=cursor, before=before)


@bp.get("/sagas/<id:saga_id>")
def saga(saga_id):
    """One saga: its step timeline, compensations and history; polls while it is not finished."""
    return saga_page(saga_id, seen=request.args.get("seen"))


def _filters(status, saga_type):
    """The current filter as query arguments, without the empty ones."""
    return {key: value for key, value in (("status", status), ("type", saga_type)) if value}
