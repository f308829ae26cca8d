"""`loadgen csv`: the watched series and its limit, and the failure times, as CSV files."""

import csv
from pathlib import Path

from .scenarios import Scenario
from .series import Batch, Timeline


def _cell(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _series(batch: Batch, service: str):
    """(Prometheus name, labels, values) of each series one service sends; histograms as their _count."""
    for key, values in batch.values.items():
        if key.service == service:
            yield key.metric.prometheus, key.labels, key.prometheus, values
    for key, histogram in batch.histograms.items():
        if key.service == service:
            name = key.metric.prometheus + "_count"
            yield name, key.labels, key.prometheus_series(name), histogram.counts


def write_series(path: Path, scenario: Scenario, start: int, duration: int, step: int, seed: int) -> int:
    """Write `timestamp` plus one column per watched series; returns the number of rows."""
    steps = -(-duration // step)
    batch = Timeline(scenario, start, step, seed).next_batch(steps)
    watched = scenario.watched
    wanted = [(watched.metric, set(watched.labels))] + ([(watched.limit_metric, set())] if watched.limit_metric else [])
    columns = [
        (column, values)
        for name, labels in wanted
        for metric, series_labels, column, values in _series(batch, watched.service)
        if metric == name and labels <= set(series_labels)
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
