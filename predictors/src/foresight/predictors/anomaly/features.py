"""Causal sliding-window features for a group of related series.

Each update takes one aligned sample per named series (e.g. one service's request
rate, latency, error rate, pool usage and memory) and returns one feature vector.
Every feature uses only the current sample and earlier ones, so a change in the
future never alters a feature already produced. Counters and gauges should be turned
into rates upstream (the query's rate()); here values are taken as they come.
"""
import math
from collections import Counter, deque

import numpy as np

from foresight.contracts.durations import format_duration

# Scale of the median absolute deviation that matches a standard deviation for normal data.
_MAD_TO_SIGMA = 1.4826
# A z-score beyond this says "far outside" already; clipping keeps one flat series
# (deviation ~0) from producing values that swamp everything else.
_Z_CLIP = 50.0

FEATURE_KINDS = ("level", "delta", "mean", "deviation", "z-score", "seasonal residual")


def feature_label(series: str, kind: str, window: float) -> str:
    """Human feature name, e.g. 'request rate: z-score', 'db pool usage: delta 15m'."""
    if kind in ("delta", "mean", "deviation"):
        return f"{series}: {kind} {format_duration(window)}"
    return f"{series}: {kind}"


def attributions_by_series(attributions: dict) -> dict:
    """Feature shares ('request rate: z-score' -> 0.3) summed per series ('request rate' -> ...).

    Relies on the 'series: kind' form of feature_label; a name without it counts as its own series.
    """
    shares: dict = {}
    for feature, share in attributions.items():
        series = feature.rsplit(": ", 1)[0]
        shares[series] = shares.get(series, 0.0) + share
    return shares


class _SeasonalProfile:
    """Values at the same time of day on past days, in a fixed ring of `days` x slots."""

    def __init__(self, season: float, step: float, days: int):
        self.season, self.step, self.days = season, step, days
        slots = max(1, int(math.ceil(season / step)))
        self.values = np.full((days, slots), np.nan)
        self.day_of = np.full((days, slots), -1, dtype=np.int64)

    def _position(self, timestamp: float) -> tuple[int, int]:
        day = int(timestamp // self.season)
        slot = min(int((timestamp - day * self.season) // self.step), self.values.shape[1] - 1)
        return day, slot

    def past_median(self, timestamp: float, min_days: int) -> float | None:
        """Median of this slot over earlier days, or None with fewer than `min_days` of them."""
        day, slot = self._position(timestamp)
        days = self.day_of[:, slot]
        usable = (days < day) & (days >= day - self.days)
        if int(usable.sum()) < min_days:
            return None
        return float(np.median(self.values[usable, slot]))

    def record(self, timestamp: float, value: float):
        day, slot = self._position(timestamp)
        row = day % self.days
        self.values[row, slot] = value
        self.day_of[row, slot] = day


class _SeriesWindow:
    """The recent samples of one series plus its time-of-day profile."""

    def __init__(self, window: float, season: float, step: float, season_days: int):
        self.window = window
        self.samples: deque = deque()  # (timestamp, value), oldest first
        self.profile = _SeasonalProfile(season, step, season_days)
        self.last_value: float | None = None
        self.last_seen: float | None = None

    def push(self, timestamp: float, value: float):
        self.samples.append((timestamp, value))
        while self.samples and self.samples[0][0] <= timestamp - self.window:
            self.samples.popleft()

    def features(self, timestamp: float, value: float, min_season_days: int) -> list[float]:
        """Features of `value` at `timestamp`; the value must already be pushed."""
        window = np.fromiter((v for _, v in self.samples), dtype=float)
        earlier = window[:-1] if len(window) > 3 else window
        centre = float(np.median(earlier))
        deviation = _MAD_TO_SIGMA * float(np.median(np.abs(earlier - centre)))
        # A floor relative to the level stops a flat window from turning noise into huge z.
        floor = max(1e-9, 1e-3 * abs(centre))
        z = float(np.clip((value - centre) / max(deviation, floor), -_Z_CLIP, _Z_CLIP))
        mean = float(window.mean())
        seasonal = self.profile.past_median(timestamp, min_season_days)
        residual = value - (seasonal if seasonal is not None else mean)
        return [value, value - float(window[0]), mean, deviation, z, residual]


class WindowFeatures:
    """Streaming feature builder for a fixed, ordered group of series.

    `update` returns a vector aligned with `names` (and `sources`, the series each
    feature comes from), or None when the sample is unusable. Bad input is counted in
    `counts` and skipped: a missing or non-finite value is carried forward for up to
    `carry_forward` seconds, after that the vector is incomplete and not produced.
    """

    def __init__(self, series_names: list[str], window: float = 900.0, step: float = 60.0,
                 season: float = 86400.0, season_days: int = 7, min_season_days: int = 2,
                 carry_forward: float = 300.0):
        if not series_names:
            raise ValueError("series_names: at least one series is needed")
        if len(set(series_names)) != len(series_names):
            raise ValueError(f"series_names: duplicate names in {series_names!r}")
        for label, value in (("window", window), ("step", step), ("season", season)):
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ValueError(f"{label}: must be a positive number of seconds, got {value!r}")
        self.series_names = list(series_names)
        self.min_season_days = min_season_days
        self.carry_forward = carry_forward
        self._windows = {n: _SeriesWindow(window, season, step, season_days) for n in series_names}
        self.names = [feature_label(n, k, window) for n in series_names for k in FEATURE_KINDS]
        self.sources = [n for n in series_names for _ in FEATURE_KINDS]
        self.window = window
        self.first_timestamp: float | None = None
        self.last_timestamp: float | None = None
        self.counts: Counter = Counter()

    def update(self, timestamp: float, values: dict) -> np.ndarray | None:
        if not _finite(timestamp):
            self.counts["bad timestamp"] += 1
            return None
        if self.last_timestamp is not None and timestamp <= self.last_timestamp:
            self.counts["out-of-order sample"] += 1
            return None
        if not isinstance(values, dict):
            self.counts["bad sample"] += 1
            return None
        self.last_timestamp = float(timestamp)
        unknown = set(values) - set(self._windows)
        if unknown:
            self.counts["unknown series"] += len(unknown)
        vector, complete = [], True
        for name, state in self._windows.items():
            value = values.get(name)
            if _finite(value):
                value = float(value)
                state.last_value, state.last_seen = value, timestamp
            elif state.last_seen is not None and timestamp - state.last_seen <= self.carry_forward:
                self.counts["carried forward"] += 1
                value = state.last_value
            else:
                self.counts["missing value"] += 1
                complete = False
                continue
            state.push(timestamp, value)
            if complete:
                vector.extend(state.features(timestamp, value, self.min_season_days))
            state.profile.record(timestamp, value)
        if not complete:
            self.counts["incomplete vector"] += 1
            return None
        if self.first_timestamp is None:
            self.first_timestamp = float(timestamp)
        # Until a full window has been seen, deviations and deltas describe a few points only.
        if timestamp - self.first_timestamp < self.window:
            self.counts["warming up"] += 1
            return None
        return np.asarray(vector, dtype=float)


def _finite(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        return False
    return math.isfinite(value)
