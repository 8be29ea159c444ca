"""Submitting a saga, idempotently: one key, one saga, whatever the number of submissions."""
import hashlib
import json

from app.errors import Conflict
from app.saga.orchestrator import start_saga


def submit(saga_type, payload, idempotency_key=None):
    """Start a saga, or return the one already started under this idempotency key.

    Returns (saga, created). Reusing a key for a different request is a Conflict.
    """
    fingerprint = request_fingerprint(saga_type, payload)
    saga, created = start_saga(saga_type, payload, idempotency_key, fingerprint)
    if not created and saga.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was already used for a different request")
    return saga, created


def request_fingerprint(saga_type, payload):
    """A stable hash of what was asked for."""
    canonical = json.dumps({"type": saga_type, "payload": payload}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()
