"""JSON API: blueprints for the domain and the sagas, documented at /api/openapi.json."""
from flask_smorest import abort

from app.errors import Conflict, NotFound, PermanentError


def register_api(app, api, csrf):
    """Register every API blueprint; the JSON API takes no cookies, so it needs no CSRF token."""
    from app.api import orders, payments, products, sagas, users

    for module in (users, products, orders, payments, sagas):
        csrf.exempt(module.bp)
        api.register_blueprint(module.bp)


def service_error(exc):
    """Turn a service's typed error into the matching HTTP error."""
    if isinstance(exc, NotFound):
        abort(404, message=str(exc))
    if isinstance(exc, Conflict):
        abort(409, message=str(exc))
    if isinstance(exc, PermanentError):
        abort(422, message=str(exc))
    raise exc
