"""Helpers shared by the tests: place orders through the API and read back what happened."""
from app.extensions import db
from app.models import Notification, Order, Payment, Product, Reservation, Saga, SagaEvent, SagaStep


def place_order(client, user_id, product_id, quantity=1, faults=None, key=None):
    """POST /api/orders and return the response."""
    body = {"user_id": user_id, "product_id": product_id, "quantity": quantity}
    if faults is not None:
        body["faults"] = faults
    headers = {"Idempotency-Key": key} if key else {}
    return client.post("/api/orders", json=body, headers=headers)


def saga_state(app, saga_id):
    """A plain snapshot of a saga and every record it touched."""
    with app.app_context():
        saga = db.session.get(Saga, saga_id)
        steps = db.session.execute(db.select(SagaStep).filter_by(saga_id=saga_id).order_by(SagaStep.index)).scalars()
        events = db.session.execute(db.select(SagaEvent).filter_by(saga_id=saga_id).order_by(SagaEvent.id)).scalars()
        order = db.session.execute(db.select(Order).filter_by(saga_id=saga_id)).scalar_one_or_none()
        payments = db.session.execute(db.select(Payment).filter_by(saga_id=saga_id).order_by(Payment.id)).scalars()
        reservation = db.session.execute(db.select(Reservation).filter_by(saga_id=saga_id)).scalar_one_or_none()
        notes = db.session.execute(db.select(Notification).filter_by(saga_id=saga_id).order_by(Notification.id)).scalars()
        return {
            "status": saga.status,
            "steps": {s.name: (s.status, s.attempts, s.compensation_attempts) for s in steps},
            "events": [(e.type, e.step_name) for e in events],
            "order": order.status if order else None,
            "payments": [(p.gateway, p.status) for p in payments],
            "reservation": reservation.status if reservation else None,
            "notifications": [n.kind for n in notes],
        }


def stock(app, product_id):
    """(stock, reserved) of a product."""
    with app.app_context():
        product = db.session.get(Product, product_id)
        return product.stock, product.reserved


def compensation_order(state):
    """Names of the steps whose compensation succeeded, in the order it happened."""
    return [name for kind, name in state["events"] if kind == "compensation.succeeded"]
