"""The "why" of an alert: which related series moved first, by how much, and since when.

For a target series (e.g. DB latency) and candidate drivers (request rate, pool wait
time, ...), over a recent window on a common grid:
- lagged correlation, with lags where the driver leads the target, and a significance
  test that allows for autocorrelation (effective sample size) and for trying many lags;
- a change point on the driver: when its level shifted and by how much.
Each driver gets a plain-words sentence such as
"request rate +40% since 14:00 (r=0.86, leading by 10 min)". Times are event times
rendered in UTC; nothing here reads the wall clock.
"""
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from foresight.config.reader import Fields, InvalidSetting, SettingsBlock

from .statistics import (change_point, clean_series, correlation_p_value, effective_points, lagged_correlation, prepare,
                         relative_change, resample)

CORRELATION_MODES = ("levels", "differences")


@dataclass
class DriverSettings(SettingsBlock):
    block = "drivers"
    window: float = 7200.0  # how far back to look, seconds
    step: float = 60.0  # common grid spacing
    max_lag: float = 1800.0  # the driver may lead the target by up to this
    max_gap: float = 300.0  # empty grid cells are filled from the previous value for this long
    # "levels": linearly detrended levels (keeps step changes); "differences": first differences.
    mode: str = "levels"
    alpha: float = 0.05  # significance after correcting for the number of lags tried
    min_correlation: float = 0.3  # weaker correlations are never called significant
    min_points: int = 30  # grid points both series need
    min_segment: float = 600.0  # shortest level before or after a change point
    change_stat: float = 6.0  # t-like statistic a change point needs
    change_effect: float = 2.0  # shift in units of the within-segment spread a change point needs
    min_change: float = 0.1  # relative changes below this are "steady"
    # Without a change point, a level change is movement only if it is also this many
    # standard deviations of the earlier level: noise in a sparse series easily moves a mean 10%.
    min_shift: float = 1.0
    recent: float = 900.0  # "recent" level when no change point is found
    min_attribution: float = 0.05  # attributions below this are not mentioned

    @classmethod
    def read(cls, f: Fields) -> "DriverSettings":
        d = cls()
        return cls.build(
            f,
            **{name: f.duration(name, getattr(d, name)) for name in ("window", "step", "max_gap", "min_segment", "recent")},
            max_lag=f.duration("max_lag", d.max_lag, minimum=-1),
            mode=f.text("mode", d.mode, choices=CORRELATION_MODES),
            **{name: f.number(name, getattr(d, name), low=0.0, high=1.0)
               for name in ("alpha", "min_correlation", "min_attribution")},
            **{name: f.number(name, getattr(d, name), low=0.0)
               for name in ("change_stat", "change_effect", "min_change", "min_shift")},
            min_points=f.integer("min_points", d.min_points, low=3),
        )

    def check(self) -> None:
        for name in ("window", "step", "max_gap", "min_segment", "recent"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise InvalidSetting(name, f"must be a positive duration, got {value!r}")
        if not (0 <= self.max_lag < self.window):
            raise InvalidSetting("max_lag", f"must be at least 0 and below window ({self.window:g}s), "
                                            f"got {self.max_lag!r}")
        if self.mode not in CORRELATION_MODES:
            raise InvalidSetting("mode", f"must be one of {', '.join(CORRELATION_MODES)}, got {self.mode!r}")
        for name in ("alpha", "min_correlation", "min_attribution"):
            if not (0 <= getattr(self, name) <= 1):
                raise InvalidSetting(name, f"must be in [0, 1], got {getattr(self, name)!r}")
        for name in ("change_stat", "change_effect", "min_change", "min_shift"):
            if not (getattr(self, name) >= 0):
                raise InvalidSetting(name, f"must be >= 0, got {getattr(self, name)!r}")
        if isinstance(self.min_points, bool) or not isinstance(self.min_points, int) or self.min_points < 3:
            raise InvalidSetting("min_points", f"must be a whole number >= 3, got {self.min_points!r}")


@dataclass
class Driver:
    name: str
    correlation: float  # at the best lag; nan when it could not be computed
    lead_seconds: float  # how far the driver leads the target at that lag
    change_ratio: float  # relative change of the driver's level (0.4 = +40%)
    since: float | None  # event time the driver's level changed, None without a clear change
    attribution: float | None  # share of the anomaly from the multivariate model, if given
    text: str
    significant: bool = False  # whether the correlation passed the test
    p_value: float = 1.0  # after the correction for the number of lags
    notable: bool = False  # worth mentioning: significant, a clear change, or a real anomaly share
    moved: bool = False  # its level changed (a change point, or a shift beyond its noise); a share alone is not


def rank_drivers(target_name: str, target: tuple, candidates: dict, now: float,
                 attributions: dict | None = None, settings: DriverSettings | None = None,
                 counts: Counter | None = None) -> list[Driver]:
    """Candidates as Driver objects, strongest first.

    `target` and each candidate are (timestamps, values) arrays. Bad input (mismatched
    lengths, non-finite samples, too little data) is counted in `counts` and skipped.
    """
    s = settings or DriverSettings()
    counts = counts if counts is not None else Counter()
    if not _finite_number(now):
        counts["bad now"] += 1
        return []
    grid = now - s.window + s.step * np.arange(1, int(round(s.window / s.step)) + 1)
    target_samples = clean_series(target_name, target, counts)
    if target_samples is None:
        return []
    target_grid = resample(*target_samples, grid, s.step, s.max_gap)
    if np.isfinite(target_grid).sum() < s.min_points:
        counts["too little target data"] += 1
        return []
    drivers = []
    for name, pair in (candidates or {}).items():
        if name == target_name:
            continue
        samples = clean_series(name, pair, counts)
        if samples is None:
            continue
        driver_grid = resample(*samples, grid, s.step, s.max_gap)
        if np.isfinite(driver_grid).sum() < s.min_points:
            counts["too little driver data"] += 1
            continue
        share = None if attributions is None else attributions.get(name)
        drivers.append(_assess(name, target_grid, driver_grid, grid, share, s))
    drivers.sort(key=lambda d: (-_strength(d), d.name))
    return drivers


def clock(timestamp: float) -> str:
    """Event time as UTC HH:MM."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%H:%M")


def _assess(name, target_grid, driver_grid, grid, share, s: DriverSettings) -> Driver:
    x, y = prepare(target_grid, s.mode), prepare(driver_grid, s.mode)
    lags = lagged_correlation(x, y, int(round(s.max_lag / s.step)), s.min_points)
    correlation, lead, p_value = float("nan"), 0.0, 1.0
    if lags:
        lag, correlation, points = max(lags, key=lambda item: (abs(item[1]), -item[0]))
        lead = lag * s.step
        effective = effective_points(x, y, points)
        p_value = min(1.0, correlation_p_value(correlation, effective) * len(lags))
    significant = bool(abs(correlation) >= s.min_correlation and p_value <= s.alpha)
    ratio, since, moved = _level_change(driver_grid, grid, s)
    text = _sentence(name, correlation, lead, significant, ratio, since, moved, share, s)
    return Driver(name=name, correlation=correlation, lead_seconds=lead,
                  change_ratio=ratio, since=since, attribution=share, text=text,
                  significant=significant, p_value=p_value,
                  notable=significant or since is not None or (share or 0.0) >= s.min_attribution, moved=moved)


def _level_change(values, grid, s: DriverSettings) -> tuple[float, float | None, bool]:
    """(relative change, since, moved): a clear change point if there is one, else recent vs
    earlier level, which counts as movement only when the shift stands out of the noise."""
    found = change_point(values, max(2, int(round(s.min_segment / s.step))))
    if found is not None:
        start, before, after, stat, effect = found
        ratio = relative_change(before, after)
        if stat >= s.change_stat and effect >= s.change_effect and abs(ratio) >= s.min_change:
            return ratio, float(grid[start]), True
    recent = grid > grid[-1] - s.recent
    earlier, latest = values[~recent], values[recent]
    if not (np.isfinite(earlier).any() and np.isfinite(latest).any()):
        return 0.0, None, False
    before, after = float(np.nanmean(earlier)), float(np.nanmean(latest))
    ratio = relative_change(before, after)
    noise = float(np.nanstd(earlier))
    return ratio, None, bool(abs(ratio) >= s.min_change and abs(after - before) > s.min_shift * noise)


def _sentence(name, correlation, lead, significant, ratio, since, moved, share, s: DriverSettings) -> str:
    if since is not None:
        words = f"{name} {_percent(ratio)} since {clock(since)}"
    elif moved:
        words = f"{name} {'rising' if ratio > 0 else 'falling'}"
    else:
        words = f"{name} steady"
    notes = []
    if significant:
        relation = f"leading by {lead / 60:.0f} min" if lead > 0 else "moving with it"
        notes.append(f"r={correlation:.2f}, {relation}")
    if share is not None and share >= s.min_attribution:
        notes.append(f"{share:.0%} of the anomaly")
    return f"{words} ({'; '.join(notes)})" if notes else words


def _strength(driver: Driver) -> float:
    """Ranking weight: significant |r|, plus the anomaly share, plus a little for a clear change."""
    weight = abs(driver.correlation) if driver.significant else 0.0
    weight += driver.attribution or 0.0
    weight += 0.1 if driver.since is not None else 0.0
    return weight


def _percent(ratio: float) -> str:
    if math.isinf(ratio):
        return "up from 0" if ratio > 0 else "down from 0"
    if ratio >= 1.0:
        return f"x{1 + ratio:.1f}"
    return f"{ratio:+.0%}"


def _finite_number(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
        and math.isfinite(value)
