"""Order placement: validate the user, reserve stock, create the order, charge, confirm."""
from app.saga.definition import SagaDefinition, Step, register
from app.services import inventory, notifications, orders, payments, users


def validate_user(ctx):
    """The customer exists and is active."""
    user = users.require_active_user(ctx.payload["user_id"])
    return {"user_id": user.id, "email": user.email}


def reserve_inventory(ctx):
    """Hold the ordered units and fix the price."""
    product = inventory.get_product(ctx.payload["product_id"])
    reservation = inventory.reserve_stock(ctx.saga_id, product.id, ctx.payload["quantity"])
    return {"reservation_quantity": reservation.quantity, "unit_price_cents": product.price_cents}


def release_inventory(ctx):
    """Give the held units back."""
    inventory.release_stock(ctx.saga_id, ctx.payload["product_id"])


def create_order(ctx):
    """Record the order, PENDING until the saga completes."""
    amount = ctx.result_of("ReserveInventory", "unit_price_cents") * ctx.payload["quantity"]
    order = orders.create_order(ctx.saga_id, ctx.payload["user_id"], ctx.payload["product_id"],
                                ctx.payload["quantity"], amount)
    return {"order_id": order.id, "amount_cents": order.amount_cents}


def cancel_order(ctx):
    """Cancel the pending order."""
    orders.cancel_order(ctx.saga_id)


def charge(gateway_name):
    """An action that captures the order's amount through one gateway."""
    def process_payment(ctx):
        order = ctx.result_of("CreateOrder")
        payment = payments.capture_payment(ctx.saga_id, order["order_id"], order["amount_cents"],
                                           gateway_name)
        return {"payment_id": payment.id, "gateway": payment.gateway}
    process_payment.__doc__ = f"Capture the amount through the {gateway_name} gateway."
    return process_payment


def refund_payment(ctx):
    """Refund whatever was captured."""
    payments.refund_payment(ctx.saga_id)


def send_confirmation(ctx):
    """Tell the customer the order is placed."""
    user = users.get_user(ctx.payload["user_id"])
    order = ctx.result_of("CreateOrder")
    sent = notifications.send_notification(
        ctx.saga_id, user, "order_confirmed", f"Order #{order['order_id']} confirmed",
        f"Your order #{order['order_id']} of {ctx.payload['quantity']} unit(s) is confirmed.")
    return {"recipient": sent.recipient}


def send_correction(ctx):
    """If a confirmation went out, tell the customer the order did not go through after all."""
    if notifications.find_notification(ctx.saga_id, "order_confirmed") is None:
        return
    user = users.get_user(ctx.payload["user_id"])
    notifications.send_notification(ctx.saga_id, user, "order_correction", "Order cancelled",
                                    "Please ignore our confirmation: your order was cancelled.")


def confirm(ctx):
    """Once every step succeeded: the order is CONFIRMED and the reserved units are sold."""
    orders.confirm_order(ctx.saga_id)
    inventory.commit_reservation(ctx.saga_id, ctx.payload["product_id"])


ORDER_PLACEMENT = register(SagaDefinition(
    name="order_placement",
    description="Place an order: user, stock, order, payment, confirmation.",
    steps=(
        Step("ValidateUser", validate_user),
        Step("ReserveInventory", reserve_inventory, compensation=release_inventory),
        Step("CreateOrder", create_order, compensation=cancel_order),
        Step("ProcessPayment", charge("primary"), compensation=refund_payment, fallback=charge("backup")),
        Step("SendNotification", send_confirmation, compensation=send_correction),
    ),
    on_complete=confirm,
))
