"""Cancelling a confirmed order with a refund; past the refund the cancellation only goes forward."""
from app.saga.definition import SagaDefinition, Step, register
from app.sagas import common
from app.services import inventory


def restock(ctx):
    """Put the ordered units back in stock."""
    inventory.restock(ctx.saga_id, common.claimed(ctx, "product_id"), common.claimed(ctx, "quantity"))


ORDER_CANCELLATION = register(SagaDefinition(
    name="order_cancellation",
    description="Cancel a confirmed order: refund in full, restock, cancel, notify.",
    steps=(
        Step("BeginCancellation", common.claim("order", "CANCELLING"),
             compensation=common.end_claim("order", "CONFIRMED")),
        Step("RefundPayment", common.settle("order", "primary", target=0),
             compensation=common.reverse_payment, pivot=True),
        Step("RestockInventory", restock),
        Step("CancelOrder", common.end_claim("order", "CANCELLED")),
        Step("SendNotification", common.notify("order", "cancelled")),
    ),
))
