"""Logging: readable text by default, JSON lines with LOG_FORMAT=json; saga fields on every line."""
import json
import logging
import os

SAGA_FIELDS = ("saga_id", "saga_type", "step", "attempt", "duration_ms", "error", "to_status")


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...` with the saga fields a record carries."""

    def format(self, record):
        base = super().format(record)
        extras = " ".join(f"{key}={getattr(record, key)}" for key in SAGA_FIELDS
                          if getattr(record, key, None) is not None)
        return f"{base} {extras}" if extras else base


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log aggregators."""

    def format(self, record):
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update({key: getattr(record, key) for key in SAGA_FIELDS
                      if getattr(record, key, None) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(app):
    """Attach one handler to the `app` logger, once per process."""
    logger = logging.getLogger("app")
    if getattr(logger, "_saga_configured", False):
        return
    handler = logging.StreamHandler()
    if os.environ.get("LOG_FORMAT", "text").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logger.propagate = False
    logger._saga_configured = True
