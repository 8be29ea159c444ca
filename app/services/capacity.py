"""Capacity of slots and courses: places held per saga by conditional updates, so a pool never
gives out more places than it has, under any concurrency."""
from sqlalchemy import true, update
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import NotFound, PermanentError
from app.extensions import db
from app.models import Course, Hold, Slot

POOLS = {"slot": Slot, "course": Course}


class Full(PermanentError):
    """No place is left in the pool."""


def get_pool(pool, pool_id):
    """The slot or course with this id, or NotFound."""
    record = db.session.get(POOLS[pool], pool_id)
    if record is None:
        raise NotFound(f"{pool} {pool_id} does not exist")
    return record


def hold_place(saga_id, pool, pool_id):
    """Hold one place for a saga; a second call for the same saga returns the first hold."""
    model = POOLS[pool]
    return _take(saga_id, pool, pool_id, "HELD", model.available >= 1,
                 Full(f"no place left in {pool} {pool_id}"),
                 available=model.available - 1, held=model.held + 1)


def release_place(saga_id, pool, pool_id):
    """Give a saga's held place back; a no-op when nothing is held."""
    return _settle(saga_id, pool, pool_id, "RELEASED", give_back=True)


def commit_place(saga_id, pool, pool_id):
    """Turn a saga's held place into a taken one."""
    return _settle(saga_id, pool, pool_id, "COMMITTED", give_back=False)


def free_place(saga_id, pool, pool_id):
    """Give back a taken place on behalf of a saga, once, whatever the number of calls."""
    model = POOLS[pool]
    return _take(saga_id, pool, pool_id, "FREED", model.available + model.held < model.capacity,
                 PermanentError(f"{pool} {pool_id} has no taken place to give back"),
                 available=model.available + 1)


def _take(saga_id, pool, pool_id, status, condition, refusal, **counters):
    """Record the saga's move of one place once, if the pool's counters allow it, else refuse."""
    existing = _hold(saga_id, pool, pool_id)
    if existing is not None:
        return existing
    if not _count(POOLS[pool], pool_id, condition, **counters):
        get_pool(pool, pool_id)
        raise refusal
    hold = Hold(saga_id=saga_id, pool=pool, pool_id=pool_id, status=status)
    db.session.add(hold)
    db.session.flush()
    return hold


def _settle(saga_id, pool, pool_id, status, give_back):
    """End a HELD hold once, whatever the number of calls, and adjust the pool."""
    hold = _hold(saga_id, pool, pool_id)
    if hold is None:
        return None
    changed = db.session.execute(
        update(Hold).where(Hold.id == hold.id, Hold.status == "HELD").values(status=status)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed == 1:
        model = POOLS[pool]
        _count(model, pool_id, true(), held=model.held - 1,
               available=model.available + (1 if give_back else 0))
        set_committed_value(hold, "status", status)
    return hold


def _count(model, pool_id, condition, **values):
    """Change a pool's counters if the condition holds; whether it did."""
    return db.session.execute(
        update(model).where(model.id == pool_id, condition).values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def _hold(saga_id, pool, pool_id):
    """The saga's hold on a pool, if any."""
    return db.session.execute(
        db.select(Hold).filter_by(saga_id=saga_id, pool=pool, pool_id=pool_id)
    ).scalar_one_or_none()
