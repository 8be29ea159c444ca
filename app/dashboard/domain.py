"""The services' own records: products and stock, users, orders, payments, notifications."""
from flask import render_template, request
from sqlalchemy import func

from app.extensions import db
from app.dashboard import bp
from app.models import Notification, Order, Payment, Product, User

PAGE_SIZE = 50


@bp.get("/products")
def products():
    """Products with the stock still available and the units held by running sagas."""
    rows, cursor = _page(db.select(Product), Product)
    return render_template("dashboard/products.html", rows=rows, cursor=cursor)


@bp.get("/users")
def users():
    """Customers, active or not."""
    rows, cursor = _page(db.select(User), User)
    return render_template("dashboard/users.html", rows=rows, cursor=cursor)


@bp.get("/orders")
def orders():
    """Orders with their customer, product and status, each linked to its saga."""
    query = db.select(Order, User.name, Product.name).join(User, Order.user_id == User.id) \
        .join(Product, Order.product_id == Product.id)
    rows, cursor = _page(query, Order, scalars=False)
    return render_template("dashboard/orders.html", rows=rows, cursor=cursor)


@bp.get("/payments")
def payments():
    """Payments (captured, refunded, declined) and how many there are of each."""
    rows, cursor = _page(db.select(Payment), Payment)
    totals = dict(db.session.execute(db.select(Payment.status, func.count()).group_by(Payment.status)).all())
    return render_template("dashboard/payments.html", rows=rows, cursor=cursor, totals=totals)


@bp.get("/notifications")
def notifications():
    """Messages sent to customers: confirmations, and corrections after a compensation."""
    rows, cursor = _page(db.select(Notification), Notification)
    return render_template("dashboard/notifications.html", rows=rows, cursor=cursor)


def _page(query, model, scalars=True):
    """One keyset page, newest first, starting below the `before` id of the query string."""
    before = request.args.get("before", type=int)
    before = before if before is not None and 0 < before < 2**63 else None
    query = query.order_by(model.id.desc()).limit(PAGE_SIZE + 1)
    if before:
        query = query.where(model.id < before)
    result = db.session.execute(query)
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1] if rows else None
    return rows, ((last.id if scalars else last[0].id) if more else None)
