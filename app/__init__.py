"""Saga orchestration on Flask + RQ: the application factory."""
import os
import secrets

from flask import Flask

from app.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config=None):
    """Build the app: settings, then extensions, then blueprints and commands."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.path.join(ROOT, "instance"))
    app.config.from_object(Config)
    app.config.update(config or {})
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A local file cannot drop a connection: skip the ping each job would pay for.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            key: value for key, value in app.config["SQLALCHEMY_ENGINE_OPTIONS"].items()
            if key != "pool_pre_ping"}
    app.config["SECRET_KEY"] = _secret_key(app)

    from app import cli, logs, security
    from app.api import register_api
    from app.api.errors import SagaApi
    from app.api.fields import RecordId
    from app.dashboard import register_dashboard
    from app.extensions import csrf, db, init_redis, migrate
    from app.ops import register_ops
    from app import sagas  # noqa: F401  (registers the saga types)

    logs.configure(app)
    app.url_map.converters["int"] = RecordId
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    csrf.init_app(app)
    init_redis(app)
    api = SagaApi(app)
    app.extensions["saga_api"] = api
    register_api(app, api, csrf)
    register_dashboard(app)
    register_ops(app)
    security.init_app(app)
    cli.register(app)
    return app


def _database_url(app):
    """The configured database, or a SQLite file in instance/."""
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        return "sqlite:///" + os.path.join(app.instance_path, "saga.db")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _secret_key(app):
    """The configured key; a generated one for tests, debug and the embedded demo; else refuse."""
    if app.config.get("SECRET_KEY"):
        return app.config["SECRET_KEY"]
    if app.testing or app.debug:
        return secrets.token_hex(32)
    if app.config.get("REDIS_URL"):
        raise RuntimeError("SECRET_KEY must be set when serving with REDIS_URL (see README: Configuration)")
    path = os.path.join(app.instance_path, "secret_key")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(secrets.token_hex(32))
        os.chmod(path, 0o600)
    with open(path) as handle:
        return handle.read().strip()
