"""Payment gateways: the interface the payments service needs, and a simulated implementation."""
import uuid
from typing import Protocol

from app.errors import PermanentError


class PaymentDeclined(PermanentError):
    """The gateway refused the charge; no money moved."""


class PaymentGateway(Protocol):
    """What the payments service needs from a gateway."""

    name: str

    def capture(self, amount_cents: int, idempotency_key: str) -> str:
        """Capture money and return the gateway's reference."""

    def refund(self, reference: str, amount_cents: int) -> None:
        """Give captured money back."""


class SimulatedGateway:
    """A gateway that accepts charges up to a limit, like a card with a credit limit."""

    def __init__(self, name, limit_cents=500_000):
        self.name = name
        self.limit_cents = limit_cents

    def capture(self, amount_cents, idempotency_key):
        """Approve the charge unless it is over the limit."""
        if amount_cents > self.limit_cents:
            raise PaymentDeclined(f"{self.name}: declined, amount over the card's limit")
        return f"{self.name}-{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key).hex[:16]}"

    def refund(self, reference, amount_cents):
        """Refunds of captured charges always go through here."""


GATEWAYS = {"primary": SimulatedGateway("primary"), "backup": SimulatedGateway("backup")}


def gateway(name):
    """The gateway registered under a name."""
    return GATEWAYS[name]
