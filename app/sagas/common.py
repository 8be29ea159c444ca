"""Step actions shared by saga types, built for a kind of record: "order", "booking", "enrollment".

A creation saga finds its record by the saga's id. A change or cancellation saga names the record
in its payload (`<kind>_id`) and starts with a claim step, BeginChange or BeginCancellation, whose
result keeps the record's facts from before the change for the steps (and compensations) after it.
"""
from app.services import notifications, payments, purchases, users

CLAIM_STEPS = ("BeginChange", "BeginCancellation")


def claimed(ctx, key):
    """A fact about the record as the claim step found it, before this saga changed it."""
    return next(ctx.result_of(name, key) for name in CLAIM_STEPS if name in ctx.results)


def record_of(ctx, kind):
    """The record the saga works on: the one its payload names, or the one it created."""
    record_id = ctx.payload.get(f"{kind}_id")
    if record_id is None:
        return purchases.for_saga(kind, ctx.saga_id)
    return purchases.get_record(kind, record_id)


def claim(kind, status):
    """An action claiming the payload's record for this saga: CANCELLING or CHANGING until done."""
    def begin(ctx):
        return purchases.claim(kind, ctx.payload[f"{kind}_id"], ctx.saga_id, status)
    begin.__doc__ = f"The {kind} must be active; it is {status} while this saga works on it."
    return begin


def end_claim(kind, status):
    """An action (or compensation) moving the claimed record on to `status`."""
    def end(ctx):
        purchases.end_claim(kind, ctx.payload[f"{kind}_id"], ctx.saga_id, status)
    end.__doc__ = f"The claimed {kind} becomes {status}."
    return end


def settle(kind, gateway_name, target=None):
    """An action moving money through a gateway so that the customer has paid the record's amount
    (or `target`, 0 to refund everything): a charge, a partial refund, or nothing."""
    def pay(ctx):
        record = record_of(ctx, kind)
        amount = record.amount_cents if target is None else target
        payment = payments.settle_to(ctx.saga_id, purchases.subject(kind, record.id), amount,
                                     gateway_name, record.id if kind == "order" else None)
        if payment is None:
            return {"amount_cents": 0}
        return {"payment_id": payment.id, "amount_cents": payment.amount_cents, "gateway": payment.gateway}
    pay.__doc__ = f"Settle what is due for the {kind} through the {gateway_name} gateway."
    return pay


def reverse_payment(ctx):
    """Undo the money this saga moved, if any: refund a charge, take back a refund."""
    payments.reverse_payment(ctx.saga_id)


def notify(kind, event):
    """An action telling the customer that their record is `event` (confirmed, changed, ...)."""
    def send(ctx):
        record = record_of(ctx, kind)
        user = users.get_user(record.user_id)
        sent = notifications.send_notification(
            ctx.saga_id, user, f"{kind}_{event}", f"{kind.capitalize()} #{record.id} {event}",
            f"Your {kind} #{record.id} is {event}.")
        return {"recipient": sent.recipient}
    send.__doc__ = f"Tell the customer their {kind} is {event}."
    return send


def correct(kind, event):
    """A compensation that, if the `event` message went out, tells the customer it did not happen."""
    def send_correction(ctx):
        if notifications.find_notification(ctx.saga_id, f"{kind}_{event}") is None:
            return
        record = record_of(ctx, kind)
        notifications.send_notification(
            ctx.saga_id, users.get_user(record.user_id), f"{kind}_correction",
            f"{kind.capitalize()} #{record.id} not {event}",
            f"Please ignore our message: your {kind} #{record.id} was not {event} after all.")
    send_correction.__doc__ = f"Correct a {kind} {event} message that went out."
    return send_correction
