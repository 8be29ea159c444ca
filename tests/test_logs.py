"""Structured logs: every transition and attempt once, with the saga's fields, and nothing secret."""
import io
import json
import logging
from logging.handlers import BufferingHandler

import pytest

from app.extensions import db
from app.logs import JsonFormatter, TextFormatter, formatter
from app.models import SagaEvent
from tests.conftest import run_jobs
from tests.helpers import place_order

LOGGED = ("step", "attempt", "duration_ms", "error", "to_status")


@pytest.fixture
def saga_records():
    """Every record the `app` loggers emit during the test."""
    handler = BufferingHandler(capacity=1_000_000)
    logger = logging.getLogger("app")
    logger.addHandler(handler)
    yield handler.buffer
    logger.removeHandler(handler)


@pytest.fixture
def json_lines():
    """What the `app` loggers write as JSON lines during the test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("app")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def history(app, saga_id):
    """A saga's events as (type, step, attempt, duration_ms, error, to_status), oldest first."""
    with app.app_context():
        events = db.session.execute(db.select(SagaEvent).filter_by(saga_id=saga_id).order_by(SagaEvent.id)).scalars()
        return [(e.type, e.step_name, e.attempt, e.duration_ms, e.error, e.to_status) for e in events]


def test_every_transition_and_attempt_is_logged_once_with_its_fields(app, client, shop, saga_records):
    saga_id = place_order(client, shop["ada"], shop["keyboard"],
                          faults={"ProcessPayment": {"kind": "transient", "times": 2}}).json["saga_id"]
    run_jobs(app)
    mine = [r for r in saga_records if r.name == "app.saga" and r.saga_id == saga_id]
    logged = [(r.getMessage(), *(getattr(r, key) for key in LOGGED)) for r in mine]
    assert logged == history(app, saga_id)
    assert {r.saga_type for r in mine} == {"order_placement"}
    retries = [r for r in mine if r.getMessage() == "step.retry_scheduled"]
    assert [(r.step, r.attempt, r.error) for r in retries] == [
        ("ProcessPayment", 1, "simulated outage (1 of 2)"), ("ProcessPayment", 2, "simulated outage (2 of 2)")]
    assert all(r.duration_ms is not None for r in retries)


def test_one_saga_is_followed_by_its_id_alone_in_json_lines(app, client, shop, json_lines):
    kept = place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"]
    failed = place_order(client, shop["ada"], shop["keyboard"],
                         faults={"CreateOrder": {"kind": "permanent"}}).json["saga_id"]
    run_jobs(app)
    lines = [line for line in json_lines() if line.get("saga_id") == failed]
    assert [line["message"] for line in lines] == [event[0] for event in history(app, failed)]
    assert all({"time", "level", "logger", "saga_type"} <= line.keys() for line in lines)
    rejected = next(line for line in lines if line["message"] == "step.failed")
    assert rejected["step"] == "CreateOrder" and rejected["attempt"] == 1
    assert rejected["error"] and rejected["duration_ms"] >= 0 and rejected["to_status"] == "FAILED"
    assert len([line for line in json_lines() if line.get("saga_id") == kept]) == len(history(app, kept))


def test_text_is_the_readable_default_and_json_is_chosen_by_log_format():
    assert isinstance(formatter("text"), TextFormatter)
    assert isinstance(formatter("JSON"), JsonFormatter)
    record = logging.makeLogRecord({"name": "app.saga", "levelname": "INFO", "msg": "step.succeeded",
                                    "saga_id": 7, "saga_type": "order_placement", "step": "CreateOrder",
                                    "attempt": 1, "duration_ms": 2.5})
    line = formatter("text").format(record)
    assert line.endswith("INFO app.saga step.succeeded saga_id=7 saga_type=order_placement "
                         "step=CreateOrder attempt=1 duration_ms=2.5")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_card_numbers_and_passwords_in_urls_never_reach_the_log(log_format):
    record = logging.makeLogRecord({
        "name": "app.saga", "levelname": "INFO", "msg": "step.failed", "saga_id": 3,
        "error": "gateway said no to 4111 1111 1111 1111 (also 5500-0000-0000-0004) via "
                 "postgresql://shop:hunter2@db:5432/shop; order 1718000000001 kept"})
    line = formatter(log_format).format(record)
    assert "4111" not in line and "5500" not in line and "hunter2" not in line
    assert line.count("[card number]") == 2 and "postgresql://shop:***@db:5432/shop" in line
    assert "1718000000001" in line  # a long number that is not a card number stays readable
