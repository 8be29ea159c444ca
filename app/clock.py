"""The one place that reads the time, so tests can move it."""
from datetime import datetime, timezone


def now():
    """Return the current UTC time as a naive datetime (how every column stores it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
