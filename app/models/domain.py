"""Domain records; each effect of a saga is unique per saga so a re-run finds the first one."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.extensions import db


class TimestampMixin:
    """Creation and update times, kept in UTC."""

    created_at: Mapped[datetime] = mapped_column(default=lambda: clock.now())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: clock.now(), onupdate=lambda: clock.now())


class User(TimestampMixin, db.Model):
    """A customer who can place orders."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    active: Mapped[bool] = mapped_column(default=True)


class Product(TimestampMixin, db.Model):
    """A product with stock available for reservation and stock held by reservations."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_products_stock_nonnegative"),
        CheckConstraint("reserved >= 0", name="ck_products_reserved_nonnegative"),
        CheckConstraint("price_cents >= 0", name="ck_products_price_nonnegative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    price_cents: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)


class Reservation(TimestampMixin, db.Model):
    """Stock moved for one saga: RESERVED, then COMMITTED (sold) or RELEASED; or RESTOCKED (sold
    units put back by a cancellation or a smaller order)."""

    __tablename__ = "reservations"
    __table_args__ = (UniqueConstraint("saga_id", "product_id", name="uq_reservations_saga_product"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="RESERVED")


class Order(TimestampMixin, db.Model):
    """An order: PENDING while its saga runs, then CONFIRMED or CANCELLED; CANCELLING or
    CHANGING while a later saga (`change_saga_id`, the latest) works on it."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_status_id", "status", "id"),)
    ACTIVE = "CONFIRMED"
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int]
    amount_cents: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    change_saga_id: Mapped[int | None]


class Payment(TimestampMixin, db.Model):
    """Money moved by a gateway for a saga: CAPTURED, REFUNDED or DECLINED.

    `subject` is what the money is for ("order:3", "booking:5"); a negative amount is money paid
    back to the customer (REVERSED if taken back), so the CAPTURED amounts of a subject add up
    to what the customer has paid for it.
    """

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("saga_id", "gateway", name="uq_payments_saga_gateway"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    amount_cents: Mapped[int]
    gateway: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class Notification(TimestampMixin, db.Model):
    """A message sent to a user on behalf of a saga, at most one of each kind per saga."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("saga_id", "kind", name="uq_notifications_saga_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    saga_id: Mapped[int] = mapped_column(index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
