"""Bounded per-series windows, on event time.

Counters are turned into per-second rates (with resets detected); deltas into running
totals. Out-of-order and duplicate points are dropped and counted; the store never looks
at the wall clock.
"""
from collections import Counter
from dataclasses import dataclass

from foresight.contracts.points import COUNTER, DELTA, Point

from .window import Window


@dataclass
class _RawState:
    """What a counter series needs to turn its next point into a rate."""
    last_time: float
    last_value: float
    pending: float = 0.0  # delta increments not yet turned into a rate


class SeriesStore:
    """Holds windows for the series some predictor watches, keyed by (metric, labels)."""

    def __init__(self, wanted, max_points: int = 5000, max_age: float = 7 * 86400, max_series: int = 100_000):
        self.wanted = wanted  # callable(metric, labels_dict) -> bool
        self.max_points, self.max_age, self.max_series = max_points, max_age, max_series
        self.windows: dict[tuple, Window] = {}
        self._raw: dict[tuple, _RawState] = {}
        self._wanted_cache: dict[tuple, bool] = {}
        self._matching: dict = {}  # selector -> (series count when computed, [(key, window)])
        self.bad = Counter()
        self.counter_resets = 0
        self.watermark = float("-inf")  # newest event time seen

    def _is_wanted(self, key) -> bool:
        hit = self._wanted_cache.get(key)
        if hit is None:
            if len(self._wanted_cache) > 4 * self.max_series:
                self._wanted_cache.clear()  # bound memory under label churn
            hit = self._wanted_cache[key] = bool(self.wanted(key[0], dict(key[1])))
        return hit

    def add(self, p: Point) -> bool:
        """Add one point. Returns False when it was dropped (and counted why)."""
        if p.timestamp > self.watermark:
            self.watermark = p.timestamp
        key = (p.metric, p.labels)
        if not self._is_wanted(key):
            return True
        raw = self._raw.get(key)
        if raw is None:
            if len(self._raw) >= self.max_series:
                self.bad["series_limit"] += 1
                return False
            # The first point of a counter or delta only sets the baseline for a rate.
            self._raw[key] = _RawState(p.timestamp, 0.0 if p.kind == DELTA else p.value)
            if p.kind not in (COUNTER, DELTA):
                self._window(key).append(p.timestamp, p.value)
            return True
        if p.kind == DELTA:
            # Increments add up whatever their order; a rate is emitted when time advances.
            raw.pending += p.value
            if p.timestamp > raw.last_time:
                self._window(key).append(p.timestamp, raw.pending / (p.timestamp - raw.last_time))
                raw.last_time, raw.pending = p.timestamp, 0.0
            return True
        if p.timestamp < raw.last_time:
            self.bad["out_of_order"] += 1
            return False
        if p.timestamp == raw.last_time:
            self.bad["duplicate"] += 1
            return False
        value = p.value
        if p.kind == COUNTER:
            increase = p.value - raw.last_value
            if increase < 0:  # the process restarted: the counter began again from zero
                self.counter_resets += 1
                increase = p.value
            value = increase / (p.timestamp - raw.last_time)
        raw.last_time, raw.last_value = p.timestamp, p.value
        self._window(key).append(p.timestamp, value)
        return True

    def _window(self, key) -> Window:
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(self.max_points, self.max_age)
        return window

    def matching(self, selector) -> list[tuple[tuple, Window]]:
        """(key, window) of every series the selector matches; cached until a series appears."""
        cached = self._matching.get(selector)
        if cached is None or cached[0] != len(self.windows):
            pairs = [(key, w) for key, w in self.windows.items() if selector.matches(key[0], dict(key[1]))]
            cached = self._matching[selector] = (len(self.windows), pairs)
        return cached[1]


def same_target(target_labels: dict, candidates: list[tuple[tuple, Window]]) -> Window | None:
    """The candidate series of the target's own service (and instance, where both have one);
    a lone candidate when the driver is not per service (e.g. a shared database)."""
    best = None
    for key, window in candidates:
        labels = dict(key[1])
        if labels.get("job") != target_labels.get("job"):
            continue
        if "instance" in labels and "instance" in target_labels and labels["instance"] != target_labels["instance"]:
            continue
        best = window
        break
    if best is None and len(candidates) == 1:
        best = candidates[0][1]
    return best
