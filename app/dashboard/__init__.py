"""The HTMX dashboard: pages and fragments for watching and operating sagas.

One URL serves a whole page or, for an htmx request, only the fragment that changes; a fragment
of something still running carries its own polling trigger, and a finished one does not.
"""
from flask import Blueprint

from app.api import fields

bp = Blueprint("dashboard", __name__)


class RecordId(fields.RecordId):
    """A database id in a URL: positive and within the 32-bit keys, so a huge number is a 404."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1)


def register_dashboard(app):
    """Register the dashboard's views, its template helpers and the admin access check."""
    from app import auth
    from app.dashboard import actions, domain, filters, records, starting, views  # noqa: F401  (routes on bp)

    app.url_map.converters["id"] = RecordId
    app.register_blueprint(bp)
    filters.register(app)
    auth.init_app(app)
