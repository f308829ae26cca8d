"""Gauges updated less often than they are scraped: the trend is fitted on their updates.

A JVM's heap after the last collection moves only when an old-generation collection runs,
minutes to hours apart; a figure a cron job writes for the textfile collector moves once a
run. Scraped every 15 s, such a series is a staircase. Lines over the trend's recent
windows (the last half hour of a two-hour lookback) lie mostly on one step and say "no
growth", and a rise that pauses at each step looks like a ramp levelling off. So a series
that holds its values (for HELD_RUN points or more, at the median run) is fitted on its updates,
the first point of each run of equal values, over HELD_WINDOWS lookbacks: a trend needs as
many updates as it would need scrapes. Until that many updates are in, a young target
(watched for less than `min_history`) has no prediction: a warm-up in a few big steps looks
like a leak. An older one is fitted on its scrapes as before.
"""
import numpy as np

from .binned import median

HELD_RUN = 8  # points per value, at the median run: two minutes at 15 s scrapes
HELD_WINDOWS = 6  # lookbacks of history the updates are taken from


def is_held(v: np.ndarray) -> bool:
    """Whether the series holds its values: it changes, and half its runs of equal values
    or more last HELD_RUN points or longer. A series that was flat and then starts to move
    is not held (one long run, then runs of one point), nor is a small count's noise."""
    starts = _run_starts(v)
    if starts.size < 2:
        return False
    runs = np.diff(np.append(starts, v.size))
    return median(runs) >= HELD_RUN


def updates(t: np.ndarray, v: np.ndarray, min_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The first point of each run of equal values, or None when fewer than `min_points`.
    Not updates: the first run (its value was set before the window began, at a time not
    known), and a run of one point whose value lies between its neighbours' (a five-minute
    mean of the store across a step)."""
    first = _run_starts(v)
    single = np.diff(np.append(first, v.size)) == 1
    inner = np.zeros(first.size, dtype=bool)
    inner[1:-1] = (v[first[1:-1]] - v[first[:-2]]) * (v[first[2:]] - v[first[1:-1]]) > 0
    first = first[1:][~(single & inner)[1:]]
    return (t[first], v[first]) if first.size >= min_points else None


def _run_starts(v: np.ndarray) -> np.ndarray:
    """Indices of the first point of each run of equal values."""
    return np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))


__all__ = ["HELD_RUN", "HELD_WINDOWS", "is_held", "updates"]
