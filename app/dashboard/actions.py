"""Operator actions on the saga page: cancel, retry, resolve; each a POST with CSRF, all audited."""
from flask import abort, flash, session, url_for

from app import auth
from app.dashboard import bp, timeline
from app.dashboard.forms import ActionForm, ResolveForm
from app.dashboard.render import is_fragment, page_or_fragment, redirect_to
from app.errors import Conflict, NotFound
from app.extensions import db
from app.models import Saga
from app.saga import operator, queries

LIVE = "dashboard/_saga_live.html"
PANEL = "dashboard/_saga_actions.html"


def saga_page(saga_id, seen=None, kept=None, refusal=None, status=200, fragment=LIVE):
    """Render a saga's page (or, for htmx, a fragment), with a rejected form or a refusal to show."""
    saga = db.get_or_404(Saga, saga_id, description=f"Saga {saga_id} does not exist.")
    view = timeline.build(queries.saga_detail(saga))
    return page_or_fragment("dashboard/saga.html", fragment, status, saga=view, seen=seen,
                            forms=action_forms(view, kept or {}), refusal=refusal)


def action_forms(saga, kept):
    """The forms that apply to the saga now, fresh unless one was just rejected."""
    keys = [("cancel", ActionForm), ("retry", ActionForm)] + [
        (f"resolve-{step['index']}", ResolveForm) for step in saga["steps"]
        if step["status"] == "COMPENSATION_FAILED"]
    return {key: kept.get(key) or _signed(cls(formdata=None, prefix=key, operator=session.get("actor")))
            for key, cls in keys}


@bp.post("/sagas/<id:saga_id>/cancel")
def cancel(saga_id):
    """Cancel a pending or running saga: its completed steps are compensated."""
    return _act(saga_id, "cancel", ActionForm, lambda actor, why: operator.cancel(saga_id, actor, why),
                "Cancellation requested: the running step finishes its attempt, then the completed "
                "steps are compensated.")


@bp.post("/sagas/<id:saga_id>/retry")
def retry(saga_id):
    """Give a FAILED saga's failed compensations a fresh set of attempts."""
    return _act(saga_id, "retry", ActionForm,
                lambda actor, why: operator.retry_compensation(saga_id, actor, why),
                "Retry requested: the failed compensations run again.")


@bp.post("/sagas/<id:saga_id>/steps/<int(max=10000):index>/resolve")
def resolve(saga_id, index):
    """Mark a step whose compensation failed as fixed by hand, with a reason."""
    return _act(saga_id, f"resolve-{index}", ResolveForm,
                lambda actor, why: operator.resolve(saga_id, index, actor, why),
                "Step marked resolved.")


def _act(saga_id, key, form_class, action, done):
    """Validate the form and run the action; on success go to the saga, else show the form again."""
    form = _signed(form_class(prefix=key))
    fragment = PANEL if is_fragment() else LIVE
    if not form.validate_on_submit():
        return saga_page(saga_id, kept={key: form}, status=422, fragment=fragment)
    actor = auth.operator_name() or form.operator.data
    try:
        action(actor, form.reason.data)
    except NotFound as exc:
        abort(404, description=str(exc))
    except Conflict as exc:  # the saga moved on since the page was drawn
        return saga_page(saga_id, refusal=f"Not done: {exc}.", status=409, fragment=fragment)
    session["actor"] = actor
    flash(f"{done} (by {actor})")
    return redirect_to(url_for("dashboard.saga", saga_id=saga_id))


def _signed(form):
    """Drop the name field when an operator is signed in: their name is recorded instead."""
    if auth.operator_name():
        del form.operator
    return form
