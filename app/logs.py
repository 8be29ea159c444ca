"""Logging: readable text by default, JSON lines with LOG_FORMAT=json; saga fields on every line.

Payloads are never logged; as a safety net every line is scrubbed of card numbers and of
passwords inside URLs (a database error may quote its connection string).
"""
import json
import logging
import os
import re

SAGA_FIELDS = ("saga_id", "saga_type", "step", "attempt", "duration_ms", "error", "to_status")
CARD_NUMBER = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
URL_PASSWORD = re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@")


def scrub(text):
    """Mask card numbers (digit runs that pass the Luhn check) and passwords inside URLs."""
    text = CARD_NUMBER.sub(lambda m: "[card number]" if _luhn(m.group()) else m.group(), text)
    return URL_PASSWORD.sub(r"\1***@", text)


def _luhn(candidate):
    """Whether a run of digits (spaces and dashes allowed) passes the Luhn checksum."""
    digits = [int(d) for d in candidate if d.isdigit()][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...` with the saga fields a record carries."""

    def format(self, record):
        base = super().format(record)
        extras = " ".join(f"{key}={getattr(record, key)}" for key in SAGA_FIELDS
                          if getattr(record, key, None) is not None)
        return scrub(f"{base} {extras}" if extras else base)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log aggregators."""

    def format(self, record):
        entry = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update({key: getattr(record, key) for key in SAGA_FIELDS
                      if getattr(record, key, None) is not None})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(entry, default=str))


def formatter(log_format):
    """The formatter for a LOG_FORMAT value: JSON lines for `json`, readable text otherwise."""
    if log_format.strip().lower() == "json":
        return JsonFormatter()
    return TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")


def configure(app):
    """Attach one handler to the `app` logger, once per process."""
    logger = logging.getLogger("app")
    if getattr(logger, "_saga_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(os.environ.get("LOG_FORMAT", "text")))
    logger.addHandler(handler)
    logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    logger.propagate = False
    logger._saga_configured = True
