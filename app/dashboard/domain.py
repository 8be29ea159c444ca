"""The services' own records: products and stock, users, orders, payments, notifications."""
from flask import render_template, request
from sqlalchemy import func

from app.extensions import db
from app.dashboard import bp
from app.dashboard.render import page_or_fragment
from app.models import Notification, Order, Payment, Product, User

PAGE_SIZE = 50
# A record in one of these is being worked on by a saga: its list refreshes itself until it is not.
SETTLING = ("PENDING", "CANCELLING", "CHANGING")


@bp.get("/products")
def products():
    """Products with the stock still available and the units held by running sagas."""
    rows, cursor = page_of(db.select(Product), Product)
    return render_template("dashboard/products.html", rows=rows, cursor=cursor)


@bp.get("/users")
def users():
    """Customers, active or not."""
    rows, cursor = page_of(db.select(User), User)
    return render_template("dashboard/users.html", rows=rows, cursor=cursor)


@bp.get("/orders")
def orders():
    """Orders with their customer, product, status and sagas; a confirmed one can be cancelled or changed."""
    return purchase_list("orders", Order, db.select(Order, User.name, Product.name)
                         .join(Product, Order.product_id == Product.id))


@bp.get("/payments")
def payments():
    """Payments (captured, refunded, declined) and how many there are of each."""
    rows, cursor = page_of(db.select(Payment), Payment)
    totals = dict(db.session.execute(db.select(Payment.status, func.count()).group_by(Payment.status)).all())
    return render_template("dashboard/payments.html", rows=rows, cursor=cursor, totals=totals)


@bp.get("/notifications")
def notifications():
    """Messages sent to customers: confirmations, and corrections after a compensation."""
    rows, cursor = page_of(db.select(Notification), Notification)
    return render_template("dashboard/notifications.html", rows=rows, cursor=cursor)


def record_list(name, rows, cursor, live, **context):
    """A list page (or, for htmx, the list alone) that refreshes itself while `live`."""
    return page_or_fragment(f"dashboard/{name}.html", f"dashboard/_{name}.html", rows=rows, cursor=cursor,
                            before=before_arg(), live=live, **context)


def purchase_list(name, model, query):
    """A list of orders, bookings or enrollments (the query selects the record, then its customer's
    name and more), refreshing itself while a saga is working on one of them."""
    rows, cursor = page_of(query.join(User, model.user_id == User.id), model, scalars=False)
    return record_list(name, rows, cursor, any(row[0].status in SETTLING for row in rows))


def before_arg():
    """The `before` id of the query string, if it is a sensible one."""
    before = request.args.get("before", type=int)
    return before if before is not None and 0 < before < 2**63 else None


def page_of(query, model, scalars=True):
    """One keyset page, newest first, starting below the `before` id of the query string."""
    before = before_arg()
    query = query.order_by(model.id.desc()).limit(PAGE_SIZE + 1)
    if before:
        query = query.where(model.id < before)
    result = db.session.execute(query)
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    last = rows[-1] if rows else None
    return rows, ((last.id if scalars else last[0].id) if more else None)
