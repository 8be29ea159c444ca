"""JSON API: blueprints for the domain and the sagas, documented at /api/openapi.json."""
from flask_smorest import abort

from app.errors import Conflict, NotFound, PermanentError


def register_api(app, api, csrf):
    """Register every API blueprint; the JSON API takes no cookies, so it needs no CSRF token."""
    from app.api import (bookings, courses, enrollments, order_changes, orders, payments, products,
                         resources, sagas, users)

    for module in (users, products, orders, order_changes, payments, sagas, resources, bookings,
                   courses, enrollments):
        csrf.exempt(module.bp)
        api.register_blueprint(module.bp)


def call_service(function, *args, **kwargs):
    """Call a service function, turning its typed errors into the matching HTTP errors."""
    try:
        return function(*args, **kwargs)
    except PermanentError as exc:
        service_error(exc)


def service_error(exc):
    """Turn a service's typed error into the matching HTTP error."""
    if isinstance(exc, NotFound):
        abort(404, message=str(exc))
    if isinstance(exc, Conflict):
        abort(409, message=str(exc))
    if isinstance(exc, PermanentError):
        abort(422, message=str(exc))
    raise exc
