"""Dashboard pages."""
from flask import Blueprint, redirect

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def overview():
    """Overview page (placeholder until the dashboard lands): the API documentation."""
    return redirect("/api/openapi.json")
