"""Step actions for places in a pool (a slot's places, a course's seats), built for a kind of
record ("booking", "enrollment") and its pool ("slot", "course"); see app/sagas/common.py."""
from app.sagas.common import claimed, record_of
from app.services import capacity, purchases


def hold(pool, rule):
    """An action holding a place in the pool the payload names (`<pool>_id`), once `rule(ctx,
    pool_id)` has accepted it."""
    def hold_place(ctx):
        pool_id = ctx.payload[f"{pool}_id"]
        rule(ctx, pool_id)
        capacity.hold_place(ctx.saga_id, pool, pool_id)
        return {f"{pool}_id": pool_id, "price_cents": capacity.get_pool(pool, pool_id).price_cents}
    hold_place.__doc__ = f"Hold a place in the {pool}."
    return hold_place


def release(pool):
    """A compensation giving back the place held in the payload's pool."""
    def release_place(ctx):
        capacity.release_place(ctx.saga_id, pool, ctx.payload[f"{pool}_id"])
    release_place.__doc__ = f"Give the held place in the {pool} back."
    return release_place


def free_claimed(pool):
    """An action giving back the place the claimed record had before this saga."""
    def free_place(ctx):
        capacity.free_place(ctx.saga_id, pool, claimed(ctx, f"{pool}_id"))
    free_place.__doc__ = f"Give back the place the record had in its old {pool}."
    return free_place


def create(kind, pool):
    """An action creating the saga's record, PENDING, for the payload's user and pool."""
    def create_record(ctx):
        pool_id = ctx.payload[f"{pool}_id"]
        record = purchases.create_record(kind, ctx.saga_id, user_id=ctx.payload["user_id"],
                                         price_cents=capacity.get_pool(pool, pool_id).price_cents,
                                         **{f"{pool}_id": pool_id})
        return {f"{kind}_id": record.id, "price_cents": record.price_cents}
    create_record.__doc__ = f"Record the {kind}, PENDING until the saga completes."
    return create_record


def drop(kind):
    """A compensation cancelling the saga's pending record."""
    def drop_record(ctx):
        purchases.drop_record(kind, ctx.saga_id)
    drop_record.__doc__ = f"Cancel the pending {kind}."
    return drop_record


def move(kind, pool):
    """An action moving the claimed record to the payload's pool, at that pool's price."""
    def move_record(ctx):
        pool_id = ctx.payload[f"{pool}_id"]
        price = capacity.get_pool(pool, pool_id).price_cents
        purchases.amend(kind, ctx.payload[f"{kind}_id"], ctx.saga_id,
                        price_cents=price, **{f"{pool}_id": pool_id})
        return {f"{pool}_id": pool_id, "price_cents": price}
    move_record.__doc__ = f"Move the {kind} to the new {pool} and its price."
    return move_record


def move_back(kind, pool):
    """A compensation putting the claimed record back in its old pool, at its old price."""
    def move_record_back(ctx):
        purchases.amend(kind, ctx.payload[f"{kind}_id"], ctx.saga_id,
                        price_cents=claimed(ctx, "price_cents"),
                        **{f"{pool}_id": claimed(ctx, f"{pool}_id")})
    move_record_back.__doc__ = f"Put the {kind} back in its old {pool} at its old price."
    return move_record_back


def confirm(kind, pool):
    """A completion making the saga's new record active and its held place taken."""
    def confirm_record(ctx):
        purchases.confirm_record(kind, ctx.saga_id)
        capacity.commit_place(ctx.saga_id, pool, ctx.payload[f"{pool}_id"])
    confirm_record.__doc__ = f"The {kind} is active and its place in the {pool} taken."
    return confirm_record


def confirm_change(kind, pool):
    """A completion making the changed record active again and its new place taken."""
    def confirm_record(ctx):
        record = record_of(ctx, kind)
        purchases.end_claim(kind, record.id, ctx.saga_id, record.ACTIVE)
        capacity.commit_place(ctx.saga_id, pool, ctx.payload[f"{pool}_id"])
    confirm_record.__doc__ = f"The changed {kind} is active again, its new place in the {pool} taken."
    return confirm_record
