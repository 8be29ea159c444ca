"""Inventory: stock reserved (or sold units put back) per saga by conditional updates, so it
never goes below zero."""
from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import NotFound, PermanentError
from app.extensions import db
from app.models import Product, Reservation
from app.services import insert


class OutOfStock(PermanentError):
    """Not enough stock is available for the reservation."""


def create_product(sku, name, price_cents, stock):
    """Create a product; a taken SKU is a Conflict."""
    return insert(Product(sku=sku, name=name, price_cents=price_cents, stock=stock, reserved=0),
                  f"a product with SKU {sku!r} already exists")


def get_product(product_id):
    """The product with this id, or NotFound."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"product {product_id} does not exist")
    return product


def reserve_stock(saga_id, product_id, quantity):
    """Hold stock for a saga; a second call for the same saga returns the first reservation."""
    existing = _reservation(saga_id, product_id)
    if existing is not None:
        return existing
    taken = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity)
        .values(stock=Product.stock - quantity, reserved=Product.reserved + quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        get_product(product_id)
        raise OutOfStock(f"not enough stock of product {product_id} for {quantity} unit(s)")
    reservation = Reservation(saga_id=saga_id, product_id=product_id, quantity=quantity)
    db.session.add(reservation)
    return reservation


def release_stock(saga_id, product_id):
    """Give a saga's reserved stock back; a no-op when nothing is held."""
    return _settle(saga_id, product_id, "RELEASED", give_back=True)


def commit_reservation(saga_id, product_id):
    """Turn a saga's reservation into a sale: the reserved units leave the warehouse."""
    return _settle(saga_id, product_id, "COMMITTED", give_back=False)


def restock(saga_id, product_id, quantity):
    """Put sold units back in stock for a saga, once, whatever the number of calls."""
    existing = _reservation(saga_id, product_id)
    if existing is not None:
        return existing
    db.session.execute(
        update(Product).where(Product.id == product_id).values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    reservation = Reservation(saga_id=saga_id, product_id=product_id, quantity=quantity,
                              status="RESTOCKED")
    db.session.add(reservation)
    return reservation


def _settle(saga_id, product_id, status, give_back):
    """End a RESERVED reservation once, whatever the number of calls, and adjust the product."""
    reservation = _reservation(saga_id, product_id)
    if reservation is None:
        return None
    changed = db.session.execute(
        update(Reservation).where(Reservation.id == reservation.id, Reservation.status == "RESERVED")
        .values(status=status).execution_options(synchronize_session=False)
    ).rowcount
    if changed == 1:
        quantity = reservation.quantity
        db.session.execute(
            update(Product).where(Product.id == product_id)
            .values(stock=Product.stock + (quantity if give_back else 0),
                    reserved=Product.reserved - quantity)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(reservation, "status", status)
    return reservation


def _reservation(saga_id, product_id):
    """The saga's reservation of a product, if any."""
    return db.session.execute(
        db.select(Reservation).filter_by(saga_id=saga_id, product_id=product_id)
    ).scalar_one_or_none()
