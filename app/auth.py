"""Admin access: with ADMIN_PASSWORD set, every page and API call needs it; without, all is open.

Browsers sign in with a form (a name for the audit history, and the shared password); scripts
send HTTP basic auth (any user name, recorded as the operator; the password). The local demo
sets no password, so everything is open there.
"""
import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from app.api.errors import wants_json

bp = Blueprint("auth", __name__)
# Probes stay open: a load balancer or Kubernetes asks them without credentials.
OPEN_ENDPOINTS = {"auth.login", "static", "ops.healthz", "ops.readyz"}


class LoginForm(FlaskForm):
    """Who signs in, and the admin password."""

    name = StringField("Your name (recorded with each action you take)",
                       validators=[InputRequired(), Length(1, 64)])
    password = PasswordField("Admin password", validators=[InputRequired()])


def init_app(app):
    """Register the login views, the access check and the template helpers."""
    app.register_blueprint(bp)
    app.before_request(require_admin)
    app.context_processor(lambda: {"auth_enabled": enabled(), "signed_in_as": operator_name()})


def enabled():
    """Whether an admin password is configured."""
    return bool(current_app.config.get("ADMIN_PASSWORD"))


def operator_name():
    """The signed-in operator's name, or None when access is open."""
    return g.get("operator")


def require_admin():
    """Let the request through when access is open or the caller proved who it is; else ask.

    With API_TOKEN set, the JSON API's writes need `Authorization: Bearer <token>` (or the admin
    credentials); with ADMIN_PASSWORD set, every page and API call needs credentials.
    """
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    name = _token_name() or (enabled() and (_basic_auth_name() or _session_name()))
    if name:
        g.operator = name
        return None
    if enabled() or _api_write_needs_token():
        return _challenge()
    return None


def _api_write_needs_token():
    """Whether this is a JSON API write and an API token is configured."""
    return bool(current_app.config.get("API_TOKEN")) and request.path.startswith("/api/") \
        and request.method not in ("GET", "HEAD", "OPTIONS")


def _token_name():
    """"api-token" when the request carries the configured bearer token, else None."""
    token = current_app.config.get("API_TOKEN")
    credentials = request.authorization
    if token and credentials and credentials.type == "bearer" \
            and hmac.compare_digest((credentials.token or "").encode(), token.encode()):
        return "api-token"
    return None


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the admin password; the name given is recorded with every action."""
    if not enabled():
        return redirect(url_for("dashboard.overview"))
    form = LoginForm()
    if form.validate_on_submit():
        if _matches(form.password.data):
            session.clear()
            session.update(admin=_fingerprint(), operator=form.name.data.strip())
            return redirect(_local(request.args.get("next")))
        form.password.errors.append("Wrong password.")
    return render_template("login.html", form=form), 422 if form.errors else 200


@bp.post("/logout")
def logout():
    """Forget the signed-in operator."""
    session.clear()
    return redirect(url_for("auth.login"))


def _basic_auth_name():
    """The user name of valid HTTP basic credentials, or None."""
    credentials = request.authorization
    if credentials and credentials.type == "basic" and _matches(credentials.password or ""):
        return (credentials.username or "admin")[:64]
    return None


def _session_name():
    """The name signed in with the current password in this session, or None."""
    if hmac.compare_digest(session.get("admin", ""), _fingerprint()):
        return session.get("operator")
    return None


def _fingerprint():
    """A keyed digest of the password: changing the password signs everybody out."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, current_app.config["ADMIN_PASSWORD"].encode(), hashlib.sha256).hexdigest()


def _matches(password):
    """Compare a password with the configured one in constant time."""
    return hmac.compare_digest(password.encode(), current_app.config["ADMIN_PASSWORD"].encode())


def _challenge():
    """Ask for credentials: 401 for API clients, the login form for browsers."""
    if wants_json():
        needed = "admin password (HTTP basic auth)" if enabled() else "API token (Authorization: Bearer)"
        body = {"code": 401, "status": "Unauthorized", "message": f"credentials required: {needed}"}
        scheme = 'Basic realm="sagas"' if enabled() else 'Bearer realm="sagas"'
        return body, 401, {"WWW-Authenticate": scheme}
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def _local(target):
    """The `next` address if it stays on this site, else the overview."""
    parts = urlsplit(target or "")
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not parts.netloc:
        return target
    return url_for("dashboard.overview")
