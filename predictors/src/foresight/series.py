"""Bounded per-series windows, on event time.

Counters are turned into per-second rates (with resets detected); deltas into running
totals. Out-of-order and duplicate points are dropped and counted; the store never looks
at the wall clock.
"""
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .otlp import COUNTER, DELTA, Point


class Window:
    """The recent (timestamp, value) points of one series, oldest first.

    Backed by numpy buffers so a predictor gets its recent points as views, without
    copying the whole window at every evaluation.
    """
    __slots__ = ("max_points", "max_age", "_t", "_v", "_start", "_end")

    def __init__(self, max_points: int, max_age: float, capacity: int = 64):
        self.max_points, self.max_age = max_points, max_age
        self._t = np.empty(capacity)
        self._v = np.empty(capacity)
        self._start = self._end = 0

    def append(self, t: float, v: float):
        if self._end == self._t.size:
            self._make_room()
        self._t[self._end], self._v[self._end] = t, v
        self._end += 1
        self._start = max(self._start, self._end - self.max_points)
        if self._t[self._start] < t - self.max_age:
            self._start += int(np.searchsorted(self._t[self._start:self._end], t - self.max_age))

    def _make_room(self):
        count = self._end - self._start
        if count * 2 > self._t.size:  # mostly full: grow
            size = self._t.size * 2
            t, v = np.empty(size), np.empty(size)
        else:  # mostly trimmed: slide to the front
            t, v = self._t, self._v
        t[:count], v[:count] = self._t[self._start:self._end], self._v[self._start:self._end]
        self._t, self._v, self._start, self._end = t, v, 0, count

    @property
    def times(self) -> np.ndarray:
        return self._t[self._start:self._end]

    @property
    def values(self) -> np.ndarray:
        return self._v[self._start:self._end]

    @property
    def last_time(self) -> float | None:
        return float(self._t[self._end - 1]) if self._end > self._start else None

    @property
    def last_value(self) -> float | None:
        return float(self._v[self._end - 1]) if self._end > self._start else None

    def arrays(self, since: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Views of the points at or after `since` (do not modify them)."""
        t, v = self.times, self.values
        if since is not None:
            i = int(np.searchsorted(t, since))
            t, v = t[i:], v[i:]
        return t, v

    def __len__(self):
        return self._end - self._start


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
