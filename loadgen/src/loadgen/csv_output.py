"""`loadgen csv`: the watched series and its limit, and the failure times, as CSV files."""

import csv
from pathlib import Path

from .scenarios import Scenario
from .series import Timeline


def _cell(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def write_series(path: Path, scenario: Scenario, start: int, duration: int, step: int, seed: int) -> int:
    """Write `timestamp` plus one column per watched series; returns the number of rows."""
    steps = -(-duration // step)
    batch = Timeline(scenario, start, step, seed).next_batch(steps)
    watched = scenario.watched
    wanted = [watched.metric] + ([watched.limit_metric] if watched.limit_metric else [])
    columns = [
        (key.prometheus, values)
        for name in wanted
        for key, values in batch.values.items()
        if key.service == watched.service and key.metric.prometheus == name
    ]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp"] + [name for name, _ in columns])
        for i, moment in enumerate(batch.times.tolist()):
            writer.writerow([moment] + [_cell(values[i]) for _, values in columns])
    return steps


def write_failures(path: Path, scenario: Scenario, start: int, duration: int, seed: int) -> int:
    failures = scenario.failures(start, start + duration, seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "service", "resource"])
        for failure in failures:
            writer.writerow([failure.time, failure.watched.service, failure.watched.resource])
    return len(failures)
