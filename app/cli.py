"""Flask commands: serve the demo, seed data, run a worker."""
import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from app import embedded
from app.config import DemoConfig
from app.seed import is_empty, seed


def register(app):
    """Attach the commands to the app's CLI."""
    app.cli.add_command(serve_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweep_command)
    app.cli.add_command(prune_command)


@click.command("prune")
@with_appcontext
def prune_command():
    """Delete finished sagas' history older than the retention settings, once."""
    from app.saga.retention import prune

    removed = prune()
    click.echo(f"deleted {removed['events']} event(s) and {removed['sagas']} saga(s)")


@click.command("sweep")
@with_appcontext
def sweep_command():
    """Recover sagas whose jobs were lost or whose deadlines passed, once."""
    from app.saga.sweeper import sweep

    repairs = sweep()
    click.echo(", ".join(f"{name}: {count}" for name, count in sorted(repairs.items())) or "nothing to repair")


@click.command("seed")
@with_appcontext
def seed_command():
    """Create demo users and products (only the missing ones)."""
    click.echo(f"seeded {seed()} record(s)")


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve_command(host, port):
    """Migrate, seed an empty database, start the embedded worker (without REDIS_URL), and serve."""
    app = current_app._get_current_object()
    upgrade()
    if is_empty():
        click.echo(f"empty database: seeded {seed()} demo record(s)")
    if not app.config.get("REDIS_URL"):
        for key in ("SAGA_RETRY_DELAY", "SAGA_STEP_TIMEOUT"):
            app.config[key] = getattr(DemoConfig, key)
        if app.config["EMBEDDED_WORKER"]:
            embedded.start(app)
            click.echo("embedded mode: in-process Redis, worker and scheduler threads started")
    click.echo(f"dashboard: http://{host}:{port}/   API: http://{host}:{port}/api/openapi.json")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
def worker_command(burst, simple):
    """Run an RQ worker with the scheduler on the saga queue (needs REDIS_URL)."""
    from rq import Queue

    from app.extensions import redis_connection
    from app.worker import SagaSimpleWorker, SagaWorker

    connection = redis_connection()
    queue = Queue(current_app.config["SAGA_QUEUE"], connection=connection)
    worker_class = SagaSimpleWorker if simple else SagaWorker
    worker_class([queue], connection=connection).work(burst=burst, with_scheduler=True)
