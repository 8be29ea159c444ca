"""The new-order form: place an order with failures injected per step, and watch its saga."""
from flask import url_for

from app.dashboard import bp
from app.dashboard.forms import OrderForm, choice
from app.dashboard.render import page_or_fragment, redirect_to
from app.errors import Conflict
from app.extensions import db
from app.models import Product, User
from app.saga.submission import submit

CHOICES_LIMIT = 500


@bp.route("/orders/new", methods=["GET", "POST"])
def new_order():
    """Show the order form; a valid submit starts one saga per form token and opens its page."""
    form = _with_choices(OrderForm())
    if not form.is_submitted():
        form.fresh_token()
    elif form.validate():
        try:
            saga, _created = submit("order_placement", form.payload(), f"form-{form.token.data}")
        except Conflict:
            form.form_errors.append("This form was already submitted with other values. "
                                    "It now has a new token: submit again to place a new order.")
            form.fresh_token()
        else:
            return redirect_to(url_for("dashboard.saga", saga_id=saga.id))
    if form.token.errors:
        form.fresh_token()
    return page_or_fragment("dashboard/order_form.html", "dashboard/_order_form.html",
                            422 if form.errors else 200, form=form)


def _with_choices(form):
    """Offer the customers and products (the first few hundred of each)."""
    users = db.session.execute(db.select(User).order_by(User.id).limit(CHOICES_LIMIT)).scalars()
    products = db.session.execute(db.select(Product).order_by(Product.id).limit(CHOICES_LIMIT)).scalars()
    form.user_id.choices = [choice(u.id, f"{u.name} <{u.email}>" + ("" if u.active else " (inactive)"))
                            for u in users]
    form.product_id.choices = [choice(p.id, f"{p.name} — {p.price_cents / 100:,.2f}, {p.stock} in stock")
                               for p in products]
    return form
