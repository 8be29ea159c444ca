"""Concurrency: several workers at once never oversell and never double an effect."""
import threading

from rq import Queue

from app.embedded import ThreadWorker
from app.extensions import db, redis_connection
from app.models import Payment, Reservation
from app.saga import dispatch
from tests.conftest import run_jobs
from tests.helpers import place_order, saga_state, stock


def run_workers_in_parallel(app, count=4):
    """Drain the queue with several RQ workers in threads at once, then finish any stragglers."""
    with app.app_context():
        connection = redis_connection()
        queue = Queue(app.config["SAGA_QUEUE"], connection=connection)
        workers = [ThreadWorker([queue], connection=connection) for _ in range(count)]
    threads = [threading.Thread(target=w.work, kwargs={"burst": True, "logging_level": "WARNING"})
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    run_jobs(app)


def test_many_orders_for_scarce_stock_never_oversell(app, client, shop):
    saga_ids = [place_order(client, shop["ada"], shop["keyboard"], 3).json["saga_id"] for _ in range(12)]
    run_workers_in_parallel(app)
    statuses = [saga_state(app, saga_id)["status"] for saga_id in saga_ids]
    assert statuses.count("COMPLETED") == 3  # 10 units, 3 per order
    assert statuses.count("COMPENSATED") == 9
    assert stock(app, shop["keyboard"]) == (1, 0)
    with app.app_context():
        committed = db.session.execute(db.select(Reservation).filter_by(status="COMMITTED")).scalars().all()
        assert sum(r.quantity for r in committed) == 9


def test_every_job_delivered_twice_to_parallel_workers_has_one_effect(app, client, shop):
    saga_ids = [place_order(client, shop["ada"], shop["keyboard"]).json["saga_id"] for _ in range(4)]
    with app.app_context():
        for saga_id in saga_ids:
            for index in range(5):
                dispatch.enqueue(dispatch.JobRequest("jobs.process_step", (saga_id, index), 10,
                                                     f"again-{saga_id}-{index}"))
    run_workers_in_parallel(app)
    for saga_id in saga_ids:
        state = saga_state(app, saga_id)
        assert state["status"] == "COMPLETED"
        assert all(attempts == 1 for _, attempts, _ in state["steps"].values())
    assert stock(app, shop["keyboard"]) == (6, 0)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Payment)) == 4


def test_stray_compensation_jobs_never_break_the_reverse_order(app, client, shop):
    saga_ids = [place_order(client, shop["ada"], shop["keyboard"],
                            faults={"SendNotification": {"kind": "permanent"}}).json["saga_id"]
                for _ in range(3)]
    with app.app_context():
        for saga_id in saga_ids:
            for index in range(5):
                dispatch.enqueue(dispatch.JobRequest("jobs.compensate_step", (saga_id, index), 10,
                                                     f"stray-{saga_id}-{index}"))
    run_workers_in_parallel(app)
    for saga_id in saga_ids:
        state = saga_state(app, saga_id)
        assert state["status"] == "COMPENSATED"
        undone = [name for kind, name in state["events"] if kind == "compensation.succeeded"]
        assert undone == ["ProcessPayment", "CreateOrder", "ReserveInventory"]
    assert stock(app, shop["keyboard"]) == (10, 0)
