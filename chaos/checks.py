"""What must hold once the chaos is over, checked with SQL against the database.

Each check returns a list of violations (empty when it holds); the figures are counted alongside.
"""
from collections import Counter

from app.saga.states import SAGA_TRANSITIONS, STEP_TRANSITIONS, SagaStatus, StepStatus

ACTIVE = ("PENDING", "RUNNING", "COMPENSATING")
ENGINE_ERRORS = {"Timeout", "Deadline", "Stopped", "Cancelled"}  # error types the engine records itself


def saga_counts(connection):
    """How many sagas are in each status."""
    return Counter(dict(connection.execute("SELECT status, count(*) FROM sagas GROUP BY status")))


def active_sagas(connection):
    """Ids of the sagas that have not reached a terminal status."""
    return [row[0] for row in connection.execute(
        "SELECT id FROM sagas WHERE status = ANY(%s) ORDER BY id", (list(ACTIVE),))]


def stock_violations(connection, initial_stock):
    """Stock never below zero, nothing held, and stock + confirmed units = initial stock."""
    problems, oversold = [], 0
    rows = connection.execute("""
        SELECT p.id, p.stock, p.reserved,
               COALESCE((SELECT sum(quantity) FROM orders o
                         WHERE o.product_id = p.id AND o.status = 'CONFIRMED'), 0),
               COALESCE((SELECT sum(quantity) FROM reservations r
                         WHERE r.product_id = p.id AND r.status = 'COMMITTED'), 0),
               COALESCE((SELECT sum(quantity) FROM reservations r
                         WHERE r.product_id = p.id AND r.status = 'RESERVED'), 0)
        FROM products p WHERE p.id = ANY(%s) ORDER BY p.id""", (list(initial_stock),)).fetchall()
    for product, stock, reserved, confirmed, committed, held in rows:
        initial = initial_stock[product]
        oversold += max(0, confirmed - initial) + max(0, -stock)
        if stock < 0 or stock + confirmed != initial:
            problems.append(f"product {product}: stock {stock} + confirmed {confirmed} != initial {initial}")
        if reserved or held:
            problems.append(f"product {product}: {reserved} unit(s) still reserved ({held} in reservations)")
        if committed != confirmed:
            problems.append(f"product {product}: {committed} unit(s) sold but {confirmed} confirmed")
    return problems, oversold


def payment_violations(connection):
    """At most one capture per saga; one for a completed saga, none left for an undone one."""
    problems = []
    doubles = connection.execute("""SELECT saga_id, count(*) FROM payments WHERE status = 'CAPTURED'
                                    GROUP BY saga_id HAVING count(*) > 1""").fetchall()
    problems += [f"saga {saga}: {count} captured payments" for saga, count in doubles]
    left = connection.execute("""SELECT s.id, s.status FROM sagas s JOIN payments p ON p.saga_id = s.id
                                 WHERE p.status = 'CAPTURED' AND s.status <> 'COMPLETED'""").fetchall()
    problems += [f"saga {saga} is {status} but a payment is still captured" for saga, status in left]
    unpaid = connection.execute("""
        SELECT s.id FROM sagas s JOIN orders o ON o.saga_id = s.id WHERE s.status = 'COMPLETED'
        AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.saga_id = s.id AND p.status = 'CAPTURED'
                        AND p.amount_cents = o.amount_cents)""").fetchall()
    problems += [f"saga {saga} COMPLETED without a capture of its order's amount" for (saga,) in unpaid]
    return problems, len(doubles)


def completion_violations(connection):
    """A completed saga has a confirmed order and a confirmation; an undone one, no confirmed order."""
    problems = []
    for saga_id, order_status, notified in connection.execute("""
            SELECT s.id, o.status, EXISTS (SELECT 1 FROM notifications n
                                           WHERE n.saga_id = s.id AND n.kind = 'order_confirmed')
            FROM sagas s LEFT JOIN orders o ON o.saga_id = s.id WHERE s.status = 'COMPLETED'"""):
        if order_status != "CONFIRMED" or not notified:
            problems.append(f"saga {saga_id} COMPLETED: order {order_status}, notification sent: {notified}")
    for saga_id, saga_status, order_status in connection.execute("""
            SELECT s.id, s.status, o.status FROM sagas s JOIN orders o ON o.saga_id = s.id
            WHERE (s.status <> 'COMPLETED' AND o.status = 'CONFIRMED')
               OR (s.status = 'COMPENSATED' AND o.status <> 'CANCELLED')"""):
        problems.append(f"saga {saga_id} is {saga_status} but its order is {order_status}")
    return problems


def failed_violations(connection, injected):
    """A saga ends FAILED only because a compensation fault was injected into the step that failed."""
    problems = []
    for saga_id, names in connection.execute("""
            SELECT s.id, COALESCE(array_agg(st.name) FILTER (WHERE st.status = 'COMPENSATION_FAILED'), '{}')
            FROM sagas s JOIN saga_steps st ON st.saga_id = s.id
            WHERE s.status = 'FAILED' GROUP BY s.id"""):
        if not names:
            problems.append(f"saga {saga_id} is FAILED but no compensation of it failed")
        for name in names:
            if ((injected.get(saga_id) or {}).get(name) or {}).get("kind") != "compensation":
                problems.append(f"saga {saga_id}: compensation of {name} failed without an injected fault")
    return problems


def transition_violations(connection):
    """Replay every saga's events against the transition tables; the replay must end where the rows are."""
    sagas, steps, problems = {}, {}, []
    for saga_id, event_id, kind, index, source, target in connection.execute(
            "SELECT saga_id, id, type, step_index, from_status, to_status FROM saga_events "
            "WHERE to_status IS NOT NULL ORDER BY saga_id, id"):
        states, key = (sagas, saga_id) if index is None else (steps, (saga_id, index))
        current = states.get(key, None if index is None else "PENDING")
        if index is None and current is None:
            legal = kind == "saga.created" and source is None and target == "PENDING"
        else:
            legal = source == current and _allowed(index is None, current, target)
        if not legal:
            where = "saga" if index is None else f"step {index}"
            problems.append(f"saga {saga_id} event {event_id} {kind}: {where} {source} -> {target}, "
                            f"replayed status was {current}")
        states[key] = target
    for saga_id, status in connection.execute("SELECT id, status FROM sagas"):
        if sagas.get(saga_id) != status:
            problems.append(f"saga {saga_id} is {status} but its events end at {sagas.get(saga_id)}")
    for saga_id, index, status in connection.execute("SELECT saga_id, index, status FROM saga_steps"):
        if steps.get((saga_id, index), "PENDING") != status:
            problems.append(f"saga {saga_id} step {index} is {status} but its events end at "
                            f"{steps.get((saga_id, index), 'PENDING')}")
    return problems


def _allowed(is_saga, current, target):
    """Whether the table allows the move (unknown statuses are not allowed)."""
    try:
        if is_saga:
            return SagaStatus(target) in SAGA_TRANSITIONS[SagaStatus(current)]
        return StepStatus(target) in STEP_TRANSITIONS[StepStatus(current)]
    except ValueError:
        return False


def sweeper_repairs(connection):
    """How many repairs of each kind the sweeper made, and over how many sagas."""
    repairs = Counter(dict(connection.execute(
        "SELECT type, count(*) FROM saga_events WHERE type LIKE 'sweeper.%' GROUP BY type")))
    sagas = connection.execute(
        "SELECT count(DISTINCT saga_id) FROM saga_events WHERE type LIKE 'sweeper.%'").fetchone()[0]
    return repairs, sagas


def attempt_settled_by(connection, saga_id, index, attempt):
    """Who recorded the end of one attempt of a step (orchestrator or sweeper), or None."""
    row = connection.execute("""
        SELECT actor FROM saga_events WHERE saga_id = %s AND step_index = %s AND attempt = %s
        AND from_status = 'RUNNING' ORDER BY id LIMIT 1""", (saga_id, index, attempt)).fetchone()
    return row[0] if row else None


def error_violations(connection):
    """Attempts that failed with an error no fault or business rule explains: bugs, most likely."""
    expected = _expected_error_types()
    return [f"{count} attempt(s) failed with {kind}, e.g. saga {saga_id}: {error}"
            for kind, count, saga_id, error in connection.execute("""
                SELECT error_type, count(*), min(saga_id), min(error) FROM saga_events
                WHERE error_type IS NOT NULL GROUP BY error_type ORDER BY error_type""")
            if kind not in expected]


def _expected_error_types():
    """The errors steps raise on purpose (StepError and every subclass) and the engine's own labels."""
    import app.sagas  # noqa: F401  (imports every service, so every subclass is defined)
    from app.errors import StepError

    names, frontier = set(ENGINE_ERRORS), [StepError]
    while frontier:
        kind = frontier.pop()
        names.add(kind.__name__)
        frontier += kind.__subclasses__()
    return names
