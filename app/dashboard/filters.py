"""Template helpers: statuses as words and colours, ages, durations, countdowns and money."""
import math

from app import clock

SAGA_LABELS = {"FAILED": "needs attention"}
TONES = {
    "PENDING": "idle", "SKIPPED": "idle",
    "RUNNING": "busy", "RETRYING": "warn", "COMPENSATING": "warn", "COMPENSATION_RETRYING": "warn",
    "COMPLETED": "good", "SUCCEEDED": "good",
    "COMPENSATED": "undone", "RESOLVED": "undone",
    "FAILED": "bad", "COMPENSATION_FAILED": "bad",
}


def status_label(status, step=False):
    """A status in words; a FAILED saga is one that 'needs attention', a FAILED step just 'failed'."""
    return (None if step else SAGA_LABELS.get(status)) or status.lower().replace("_", " ")


def status_tone(status):
    """The colour family of a status (the text says the same thing without colour)."""
    return TONES.get(status, "idle")


def age(moment, now=None):
    """How long ago a moment was, briefly: '12 s', '3 min', '2 h', '4 d'."""
    if moment is None:
        return "–"
    return span((now or clock.now()) - moment)


def span(delta):
    """A time span, briefly."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def countdown(moment, now=None):
    """Whole seconds until a moment, rounded up; 0 once it has passed."""
    return max(0, math.ceil((moment - (now or clock.now())).total_seconds())) if moment else None


def duration(ms):
    """A duration in milliseconds, readably."""
    if ms is None:
        return "–"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def clock_time(moment):
    """A UTC time of day to the second."""
    return moment.strftime("%H:%M:%S") if moment else "–"


def iso(moment):
    """A UTC timestamp for a title or datetime attribute."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else ""


def money(cents):
    """Cents as an amount with two decimals."""
    return f"{cents / 100:,.2f}"


def register(app):
    """Make the helpers available to every template."""
    for function in (status_label, status_tone, age, span, countdown, duration, clock_time, iso, money):
        app.add_template_filter(function)
