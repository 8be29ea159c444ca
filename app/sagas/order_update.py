"""Changing the quantity of a confirmed order at its unit price, settling the difference; past
the settlement the change only goes forward."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common
from app.services import inventory, purchases


def extra_units(ctx):
    """How many units the new quantity adds to the order (negative when it shrinks)."""
    return ctx.payload["quantity"] - common.claimed(ctx, "quantity")


def reserve_extra_units(ctx):
    """Hold the units the order grows by, if it grows."""
    if extra_units(ctx) > 0:
        inventory.reserve_stock(ctx.saga_id, common.claimed(ctx, "product_id"), extra_units(ctx))
    return {"extra_units": extra_units(ctx)}


def release_extra_units(ctx):
    """Give the held extra units back."""
    inventory.release_stock(ctx.saga_id, common.claimed(ctx, "product_id"))


def update_order(ctx):
    """Set the new quantity, and the amount at the unit price the order was placed at."""
    unit_price = common.claimed(ctx, "amount_cents") // common.claimed(ctx, "quantity")
    amount = unit_price * ctx.payload["quantity"]
    purchases.amend("order", ctx.payload["order_id"], ctx.saga_id, quantity=ctx.payload["quantity"],
                    amount_cents=amount)
    return {"quantity": ctx.payload["quantity"], "amount_cents": amount}


def restore_order(ctx):
    """Put the old quantity and amount back."""
    purchases.amend("order", ctx.payload["order_id"], ctx.saga_id,
                    quantity=common.claimed(ctx, "quantity"), amount_cents=common.claimed(ctx, "amount_cents"))


def restock_units(ctx):
    """Put back in stock the units the order shrank by, if it shrank."""
    if extra_units(ctx) < 0:
        inventory.restock(ctx.saga_id, common.claimed(ctx, "product_id"), -extra_units(ctx))


def confirm(ctx):
    """The order is CONFIRMED again, and its extra units are sold."""
    purchases.end_claim("order", ctx.payload["order_id"], ctx.saga_id, "CONFIRMED")
    inventory.commit_reservation(ctx.saga_id, common.claimed(ctx, "product_id"))


ORDER_UPDATE = register(SagaDefinition(
    name="order_update",
    description="Change a confirmed order's quantity: units, order, difference, restock, notify.",
    steps=(
        Step("BeginChange", common.claim("order", "CHANGING"),
             compensation=common.end_claim("order", "CONFIRMED")),
        Step("ReserveInventory", reserve_extra_units, compensation=release_extra_units),
        Step("UpdateOrder", update_order, compensation=restore_order),
        Step("SettleDifference", common.settle("order", "primary"), compensation=common.reverse_payment,
             fallback=common.settle("order", "backup"), pivot=True),
        Step("RestockInventory", restock_units),
        Step("SendNotification", common.notify("order", "changed")),
    ),
    on_complete=confirm,
))
