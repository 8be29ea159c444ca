"""Retention: old history of finished sagas is deleted; running sagas and recent ones are kept."""
from datetime import timedelta

import pytest

from app import clock
from app.extensions import db
from app.models import Saga, SagaEvent, SagaStep
from app.saga.retention import prune
from tests.conftest import run_jobs
from tests.helpers import place_order


@pytest.fixture
def finished_and_running(app, client, shop):
    """Two finished sagas (one of them long ago) and one still pending."""
    old, recent = (place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(2))
    run_jobs(app)
    pending = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    with app.app_context():
        db.session.get(Saga, old).finished_at = clock.now() - timedelta(days=45)
        db.session.commit()
    return old, recent, pending


def counts(app, saga_id):
    """(events, steps, saga rows) kept for a saga."""
    with app.app_context():
        events = db.session.scalar(db.select(db.func.count()).select_from(SagaEvent).filter_by(saga_id=saga_id))
        steps = db.session.scalar(db.select(db.func.count()).select_from(SagaStep).filter_by(saga_id=saga_id))
        return events, steps, int(db.session.get(Saga, saga_id) is not None)


def test_history_of_sagas_finished_long_ago_is_deleted(app, finished_and_running):
    old, recent, pending = finished_and_running
    with app.app_context():
        assert prune()["events"] > 0
    assert counts(app, old) == (0, 5, 1)
    assert counts(app, recent)[0] > 0
    assert counts(app, pending)[0] == 1


def test_whole_sagas_go_when_saga_retention_is_set(app, finished_and_running):
    old, recent, pending = finished_and_running
    app.config["SAGA_RETENTION_DAYS"] = 40
    with app.app_context():
        assert prune()["sagas"] == 1
    assert counts(app, old) == (0, 0, 0)
    assert counts(app, recent)[2] == 1 and counts(app, pending)[2] == 1


def test_zero_keeps_everything(app, finished_and_running):
    old, _, _ = finished_and_running
    app.config["SAGA_HISTORY_RETENTION_DAYS"] = 0
    with app.app_context():
        assert prune() == {"events": 0, "sagas": 0}
    assert counts(app, old)[0] > 0
