"""Metric families summed from the saga history: lifecycle and step counters, duration histograms.

Each takes the tally's totals, {(saga type, event type, step, to_status): Totals}.
"""
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from app.ops.tally import BUCKETS_MS, Totals
from app.saga.definition import saga_types
from app.saga.queries import ATTEMPT_ENDS, ATTEMPT_STARTS

# A saga-level event's to_status says which lifecycle counter it advances, whoever recorded it.
LIFECYCLE = {"PENDING": "started", "COMPLETED": "completed", "COMPENSATED": "compensated",
             "FAILED": "failed"}
RETRIES = {"step.retry_scheduled", "compensation.retry_scheduled"}
FAILURES = {"step.failed", "step.timed_out", "compensation.failed"}
TIMEOUT_CARRIERS = RETRIES | {"compensation.failed"}
STEP_LABELS = ["saga_type", "step", "phase"]
STEP_COUNTERS = {"attempts": "Attempts started",
                 "retries": "Attempts that failed and were rescheduled",
                 "failures": "Steps or compensations that failed for good",
                 "timeouts": "Attempts that timed out"}


def history_families(totals):
    """Every family summed from the history."""
    return [*lifecycle_families(totals), *step_counter_families(totals), sweeper_family(totals),
            *duration_families(totals)]


def lifecycle_families(totals):
    """Counters of sagas started, completed, compensated and failed, by saga type."""
    families = {name: CounterMetricFamily(f"saga_{name}", f"Sagas {name}, by saga type",
                                          labels=["saga_type"]) for name in LIFECYCLE.values()}
    sums = {(kind, name): 0 for kind in saga_types() for name in LIFECYCLE.values()}
    for (kind, _, step, to_status), group in totals.items():
        if step is None and to_status in LIFECYCLE:
            key = (kind, LIFECYCLE[to_status])
            sums[key] = sums.get(key, 0) + group.count
    for (kind, name), value in sorted(sums.items()):
        families[name].add_metric([kind], value)
    return families.values()


def step_counter_families(totals):
    """Counters of attempts, retries, failures and timeouts by saga type, step and phase."""
    families = {name: CounterMetricFamily(f"saga_step_{name}", doc, labels=STEP_LABELS)
                for name, doc in STEP_COUNTERS.items()}
    sums = {}
    for (kind, event_type, step, _), group in totals.items():
        phase = ATTEMPT_STARTS.get(event_type) or ATTEMPT_ENDS.get(event_type, (None,))[0]
        if step is None or phase is None:
            continue
        counts = sums.setdefault((kind, step, phase), dict.fromkeys(families, 0))
        for name, value in _step_increments(event_type, group).items():
            counts[name] += value
    for key, counts in sorted(sums.items()):
        for name, value in counts.items():
            families[name].add_metric(list(key), value)
    return families.values()


def _step_increments(event_type, group):
    """What one group of events adds to each step counter."""
    timeouts = group.count if event_type == "step.timed_out" else \
        group.timeouts if event_type in TIMEOUT_CARRIERS else 0
    return {"attempts": group.count if event_type in ATTEMPT_STARTS else 0,
            "retries": group.count if event_type in RETRIES else 0,
            "failures": group.count if event_type in FAILURES else 0,
            "timeouts": timeouts}


def sweeper_family(totals):
    """Counter of the sweeper's recoveries (its `sweeper.*` events) by saga type and kind."""
    family = CounterMetricFamily("saga_sweeper_recoveries", "Recoveries made by the sweeper",
                                 labels=["saga_type", "kind"])
    sums = {}
    for (kind, event_type, _, _), group in totals.items():
        if event_type.startswith("sweeper."):
            key = (kind, event_type.removeprefix("sweeper."))
            sums[key] = sums.get(key, 0) + group.count
    for key, value in sorted(sums.items()):
        family.add_metric(list(key), value)
    return family


def duration_families(totals):
    """Histograms of attempt durations (actions, compensations) by saga type and step."""
    families = {
        "action": HistogramMetricFamily("saga_step_duration_seconds", "Duration of step attempts",
                                        labels=["saga_type", "step"]),
        "compensation": HistogramMetricFamily("saga_compensation_duration_seconds",
                                              "Duration of compensation attempts",
                                              labels=["saga_type", "step"]),
    }
    sums = {}
    for (kind, event_type, step, _), group in totals.items():
        if event_type in ATTEMPT_ENDS and step is not None:
            phase = ATTEMPT_ENDS[event_type][0]
            sums.setdefault((phase, kind, step), Totals()).add(group)
    for (phase, kind, step), group in sorted(sums.items()):
        buckets = [(floatToGoString(bound / 1000), n) for bound, n in zip(BUCKETS_MS, group.buckets)]
        families[phase].add_metric([kind, step], buckets + [("+Inf", group.timed)],
                                   sum_value=group.sum_ms / 1000)
    return families.values()
