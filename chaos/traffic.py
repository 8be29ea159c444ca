"""The shop and the customers: products with limited stock, and orders placed over HTTP with faults."""
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

STEPS = ("ValidateUser", "ReserveInventory", "CreateOrder", "ProcessPayment", "SendNotification")
# (sku, name, price in cents, initial stock). Demand is about twice the stock, so products sell
# out; two units of the graphics card go over the simulated card limit and are declined.
PRODUCTS = (
    ("CH-KB", "Keyboard", 4_500, 40),
    ("CH-MS", "Mouse", 1_900, 35),
    ("CH-MN", "Monitor", 21_000, 25),
    ("CH-HS", "Headset", 7_900, 20),
    ("CH-CB", "Cable", 900, 60),
    ("CH-GC", "Graphics card", 260_000, 15),
)
ACTIVE_USERS, INACTIVE_USERS = 8, 1
RETRYABLE_STATUS = {502, 503, 504}


@dataclass(frozen=True)
class Shop:
    """Who can order what: user ids, and each product's initial stock by id."""

    users: tuple
    inactive_users: tuple
    initial_stock: dict


@dataclass(frozen=True)
class Placed:
    """One order as the client saw it: its key, the saga it got, and how many tries it took."""

    key: str
    body: dict
    saga_id: int | None
    status: int | None
    tries: int
    error: str | None = None


def post_json(url, body, headers=None, timeout=30):
    """POST a JSON body; returns (status, parsed body). HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def seed_shop(base_url, run_id):
    """Create the users and products through the API."""
    users, inactive, stock = [], [], {}
    for n in range(ACTIVE_USERS + INACTIVE_USERS):
        active = n < ACTIVE_USERS
        status, body = post_json(f"{base_url}/api/users", {
            "name": f"Chaos {n}", "email": f"chaos{n}.{run_id}@example.com", "active": active})
        assert status == 201, (status, body)
        (users if active else inactive).append(body["id"])
    for sku, name, price, units in PRODUCTS:
        status, body = post_json(f"{base_url}/api/products", {
            "sku": f"{sku}-{run_id}", "name": name, "price_cents": price, "stock": units})
        assert status == 201, (status, body)
        stock[body["id"]] = units
    return Shop(tuple(users), tuple(inactive), stock)


def random_faults(rng):
    """The failures injected into one order.

    `compensation` faults go only on CreateOrder, whose undo touches neither stock nor money:
    a failed release or refund would legitimately leave units held or money captured, and the
    invariants "stock + confirmed = initial" and "nothing captured for an undone saga" would no
    longer be exact. A later permanent failure (or a hang) makes the compensation run.
    """
    draw = rng.random()
    if draw < 0.45:
        return {}
    if draw < 0.63:
        return {rng.choice(STEPS): {"kind": "transient", "times": rng.randint(1, 2)}}
    if draw < 0.71:
        return {rng.choice(STEPS): {"kind": "permanent"}}
    if draw < 0.76:
        return {rng.choice(STEPS): {"kind": "hang"}}
    if draw < 0.84:
        return {"ProcessPayment": {"kind": "fallback"}}
    if draw < 0.92:
        later = rng.choice([("ProcessPayment", "permanent"), ("SendNotification", "permanent"),
                            ("SendNotification", "hang")])
        return {"CreateOrder": {"kind": "compensation"}, later[0]: {"kind": later[1]}}
    first, second = rng.sample(STEPS, 2)
    return {first: {"kind": "transient", "times": 1}, second: {"kind": "transient", "times": 2}}


def plan_orders(rng, shop, count):
    """The bodies of `count` orders over the shop's products, with random faults."""
    bodies = []
    for _ in range(count):
        user = rng.choice(shop.inactive_users) if rng.random() < 0.04 else rng.choice(shop.users)
        body = {"user_id": user, "product_id": rng.choice(sorted(shop.initial_stock)),
                "quantity": rng.randint(1, 3)}
        faults = random_faults(rng)
        if faults:
            body["faults"] = faults
        bodies.append(body)
    return bodies


class Placement:
    """Places orders concurrently from a thread pool, evenly spread over a time span, in the background.

    A submission that meets a connection error or a 502-504 (the web process restarting) is
    sent again with the same Idempotency-Key, so it can never start a second saga.
    """

    def __init__(self, base_url, run_id, bodies, threads=8, seconds=25.0, give_up_after=90.0):
        self.base_url, self.run_id, self.bodies = base_url, run_id, bodies
        self.threads, self.interval = threads, seconds / max(1, len(bodies))
        self.give_up_after = give_up_after
        self.results, self._started, self._halt = [], time.monotonic(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-placement", daemon=True)

    def __enter__(self):
        """Start placing in the background."""
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        """Stop placing (orders not yet sent are dropped), so a failing test does not linger."""
        self._halt.set()

    def done(self):
        """Whether every order has been placed (or given up on)."""
        return not self._thread.is_alive()

    def join(self, timeout):
        """Wait for the placement to finish."""
        self._thread.join(timeout)
        return self.done()

    def _run(self):
        """Spread the orders over the pool."""
        self._started = time.monotonic()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="chaos-client") as pool:
            self.results = list(pool.map(self._place, range(len(self.bodies))))

    def _place(self, number):
        """Place one order, after its slot in the pacing, retrying on transport errors."""
        self._halt.wait(max(0.0, self._started + number * self.interval - time.monotonic()))
        key, body = f"chaos-{self.run_id}-{number}", self.bodies[number]
        give_up, tries, error = time.monotonic() + self.give_up_after, 0, "not sent"
        while time.monotonic() < give_up and not self._halt.is_set():
            tries += 1
            try:
                status, answer = post_json(f"{self.base_url}/api/orders", body, {"Idempotency-Key": key})
            except (OSError, http.client.HTTPException) as exc:
                status, answer = None, repr(exc)
            if status in (200, 202):
                return Placed(key, body, answer["saga_id"], status, tries)
            error = f"{status}: {answer}"
            if status is not None and status not in RETRYABLE_STATUS:
                break
            self._halt.wait(0.3)
        return Placed(key, body, None, None, tries, error)
