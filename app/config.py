"""Settings read from the environment, with the seed's defaults."""
import os


def _int(name, default):
    """Read an integer setting, falling back to the default when unset or empty."""
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _float(name, default):
    """Read a float setting, falling back to the default when unset or empty."""
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


class Config:
    """Production-shaped defaults; every value can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None  # None: SQLite in instance/
    REDIS_URL = os.environ.get("REDIS_URL") or None  # None: in-process fakeredis (embedded mode)

    SAGA_QUEUE = os.environ.get("SAGA_QUEUE", "saga")
    SAGA_TIMEOUT = _int("SAGA_TIMEOUT", 300)
    SAGA_RETRY_ATTEMPTS = _int("SAGA_RETRY_ATTEMPTS", 3)
    SAGA_RETRY_DELAY = _float("SAGA_RETRY_DELAY", 60)
    SAGA_RETRY_MAX_DELAY = _float("SAGA_RETRY_MAX_DELAY", 3600)
    SAGA_STEP_TIMEOUT = _int("SAGA_STEP_TIMEOUT", 30)
    SAGA_COMPENSATION_TIMEOUT = _int("SAGA_COMPENSATION_TIMEOUT", 600)
    SAGA_COMPENSATION_ATTEMPTS = _int("SAGA_COMPENSATION_ATTEMPTS", 5)
    SAGA_FAILURE_TTL = _int("SAGA_FAILURE_TTL", 7 * 24 * 3600)
    SAGA_SWEEP_INTERVAL = _int("SAGA_SWEEP_INTERVAL", 15)
    SAGA_SWEEP_GRACE = _int("SAGA_SWEEP_GRACE", 30)
    SAGA_SWEEP_BATCH = _int("SAGA_SWEEP_BATCH", 500)
    SAGA_COUNTS_MAX_AGE = _float("SAGA_COUNTS_MAX_AGE", 2)  # the overview's counts, seconds
    SAGA_HISTORY_RETENTION_DAYS = _int("SAGA_HISTORY_RETENTION_DAYS", 30)  # 0 keeps events forever
    SAGA_RETENTION_DAYS = _int("SAGA_RETENTION_DAYS", 0)  # 0 keeps finished sagas forever
    EMBEDDED_WORKER = os.environ.get("EMBEDDED_WORKER", "1") != "0"

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None
    API_TOKEN = os.environ.get("API_TOKEN") or None  # None: the JSON API's writes are open
    ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD") or None  # None: dashboard and API open (demo)
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 1024 * 1024

    API_TITLE = "Saga orchestration"
    API_VERSION = "1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


class DemoConfig:
    """Shorter delays for the embedded demo, so retries and timeouts are watchable."""

    SAGA_RETRY_DELAY = _float("SAGA_RETRY_DELAY", 2)
    SAGA_STEP_TIMEOUT = _int("SAGA_STEP_TIMEOUT", 5)
