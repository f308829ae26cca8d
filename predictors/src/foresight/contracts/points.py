"""What the sources hand to the store: metric points and log lines, on event time."""
from typing import NamedTuple

GAUGE, COUNTER, DELTA = "gauge", "counter", "delta"
"""Point kinds: a gauge value; a cumulative monotonic counter; an increment to add to a
running total (delta sums, log records and spans)."""


class Point(NamedTuple):
    metric: str
    labels: tuple  # sorted (name, value) pairs
    timestamp: float  # unix seconds, event time
    value: float
    kind: str


class LogLine(NamedTuple):
    """One log record as the `logs` predictor reads it."""
    timestamp: float  # unix seconds, event time
    service: str  # the `job` label: service.name, with its namespace
    severity: str  # trace, debug, info, warn, error, fatal or unspecified
    body: str


__all__ = ["COUNTER", "DELTA", "GAUGE", "LogLine", "Point"]
