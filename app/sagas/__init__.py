"""Saga types; importing this package registers every one of them."""
from app.sagas import order_placement  # noqa: F401
