"""The HTMX dashboard: pages and fragments for watching and operating sagas."""


def register_dashboard(app):
    """Register the dashboard blueprint."""
    from app.dashboard.views import bp

    app.register_blueprint(bp)
