"""End-to-end fixtures: the app served from a thread with its embedded worker, and headless Chromium.

The server runs in this process (werkzeug's make_server on an ephemeral port), so it shares the
in-process fake Redis with the worker and scheduler threads, exactly like `flask serve`.
"""
import os
import threading

import fakeredis
import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import ROOT, create_app, embedded
from app.extensions import db
from app.seed import seed

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", os.path.join(ROOT, ".ci", "artifacts", "screenshots"))
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def base_url(tmp_path_factory):
    """The dashboard served on localhost with a real worker, short delays and seeded demo data."""
    folder = tmp_path_factory.mktemp("e2e")
    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/e2e.db", "REDIS_URL": None,
        "FAKE_REDIS_SERVER": fakeredis.FakeServer(), "SECRET_KEY": "e2e-secret", "ADMIN_PASSWORD": None,
        "SAGA_RETRY_DELAY": 1, "SAGA_STEP_TIMEOUT": 2, "SAGA_COMPENSATION_ATTEMPTS": 2,
    })
    with app.app_context():
        db.create_all()
        seed()
    embedded.start(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser tab on a desktop-sized window."""
    context = browser.new_context(viewport=WIDE)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shoot(page):
    """Save a full-page screenshot under SCREENSHOTS, wide or narrow."""
    os.makedirs(SCREENSHOTS, exist_ok=True)

    def screenshot(name, narrow=False):
        page.set_viewport_size(NARROW if narrow else WIDE)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)
        page.set_viewport_size(WIDE)
    return screenshot
