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
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from scipy import stats

from foresight.config.reader import Fields, InvalidSetting, SettingsBlock

log = logging.getLogger(__name__)

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
            **{name: f.number(name, getattr(d, name), low=0.0) for name in ("change_stat", "change_effect", "min_change")},
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
        for name in ("change_stat", "change_effect", "min_change"):
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
    target_samples = _clean(target_name, target, counts)
    if target_samples is None:
        return []
    target_grid = _resample(*target_samples, grid, s)
    if np.isfinite(target_grid).sum() < s.min_points:
        counts["too little target data"] += 1
        return []
    drivers = []
    for name, pair in (candidates or {}).items():
        if name == target_name:
            continue
        samples = _clean(name, pair, counts)
        if samples is None:
            continue
        driver_grid = _resample(*samples, grid, s)
        if np.isfinite(driver_grid).sum() < s.min_points:
            counts["too little driver data"] += 1
            continue
        share = None if attributions is None else attributions.get(name)
        drivers.append(_assess(name, target_grid, driver_grid, grid, share, s))
    drivers.sort(key=lambda d: (-_strength(d), d.name))
    return drivers


def lagged_correlation(target: np.ndarray, driver: np.ndarray, max_lag_steps: int,
                       min_points: int) -> list[tuple[int, float, int]]:
    """(lag in steps, r, points) for driver[t - lag] against target[t], lag = 0..max_lag_steps."""
    results = []
    n = len(target)
    for lag in range(0, max_lag_steps + 1):
        x, y = target[lag:], driver[:n - lag]
        both = np.isfinite(x) & np.isfinite(y)
        points = int(both.sum())
        if points < min_points:
            continue
        x, y = x[both], y[both]
        sx, sy = x.std(), y.std()
        if sx == 0 or sy == 0:
            continue
        results.append((lag, float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy)), points))
    return results


def change_point(values: np.ndarray, min_segment: int) -> tuple[int, float, float, float, float] | None:
    """Best single level shift: (index where the new level starts, before mean, after mean, stat, effect).

    stat is the shift over its standard error and effect the shift over the
    within-segment spread. None when the series is too short to split.
    """
    finite = np.flatnonzero(np.isfinite(values))
    v = values[finite]
    n = len(v)
    if n < 2 * min_segment:
        return None
    cumulative = np.concatenate([[0.0], np.cumsum(v)])
    squares = np.concatenate([[0.0], np.cumsum(v * v)])
    splits = np.arange(min_segment, n - min_segment + 1)
    before = cumulative[splits] / splits
    after = (cumulative[n] - cumulative[splits]) / (n - splits)
    within = (squares[n] - splits * before ** 2 - (n - splits) * after ** 2) / max(n - 2, 1)
    spread = np.sqrt(np.clip(within, 1e-300, None))
    shift = np.abs(after - before)
    stat = shift / (spread * np.sqrt(1.0 / splits + 1.0 / (n - splits)))
    best = int(np.argmax(stat))
    k = int(splits[best])
    return int(finite[k]), float(before[best]), float(after[best]), float(stat[best]), float(shift[best] / spread[best])


def clock(timestamp: float) -> str:
    """Event time as UTC HH:MM."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%H:%M")


def _assess(name, target_grid, driver_grid, grid, share, s: DriverSettings) -> Driver:
    x, y = _prepare(target_grid, s.mode), _prepare(driver_grid, s.mode)
    lags = lagged_correlation(x, y, int(round(s.max_lag / s.step)), s.min_points)
    correlation, lead, p_value = float("nan"), 0.0, 1.0
    if lags:
        lag, correlation, points = max(lags, key=lambda item: (abs(item[1]), -item[0]))
        lead = lag * s.step
        effective = _effective_points(x, y, points)
        p_value = min(1.0, _p_value(correlation, effective) * len(lags))
    significant = bool(abs(correlation) >= s.min_correlation and p_value <= s.alpha)
    ratio, since = _level_change(driver_grid, grid, s)
    text = _sentence(name, correlation, lead, significant, ratio, since, share, s)
    return Driver(name=name, correlation=correlation, lead_seconds=lead,
                  change_ratio=ratio, since=since, attribution=share, text=text,
                  significant=significant, p_value=p_value,
                  notable=significant or since is not None or (share or 0.0) >= s.min_attribution)


def _level_change(values, grid, s: DriverSettings) -> tuple[float, float | None]:
    """(relative change, since): a clear change point if there is one, else recent vs earlier level."""
    found = change_point(values, max(2, int(round(s.min_segment / s.step))))
    if found is not None:
        start, before, after, stat, effect = found
        ratio = _relative(before, after)
        if stat >= s.change_stat and effect >= s.change_effect and abs(ratio) >= s.min_change:
            return ratio, float(grid[start])
    recent = grid > grid[-1] - s.recent
    earlier, latest = values[~recent], values[recent]
    if not (np.isfinite(earlier).any() and np.isfinite(latest).any()):
        return 0.0, None
    return _relative(float(np.nanmean(earlier)), float(np.nanmean(latest))), None


def _sentence(name, correlation, lead, significant, ratio, since, share, s: DriverSettings) -> str:
    if since is not None:
        words = f"{name} {_percent(ratio)} since {clock(since)}"
    elif abs(ratio) >= s.min_change:
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


def _prepare(values: np.ndarray, mode: str) -> np.ndarray:
    if mode == "differences":
        return np.diff(values, prepend=np.nan)
    finite = np.isfinite(values)
    if finite.sum() < 3:
        return values
    index = np.arange(len(values), dtype=float)
    slope, intercept = np.polyfit(index[finite], values[finite], 1)
    return values - (slope * index + intercept)


def _effective_points(x, y, points: int) -> float:
    """Points corrected for autocorrelation (Bartlett): n (1 - a b) / (1 + a b)."""
    product = _lag1(x) * _lag1(y)
    return max(3.0, points * (1 - product) / (1 + product))


def _lag1(values: np.ndarray) -> float:
    a, b = values[1:], values[:-1]
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3 or a[both].std() == 0 or b[both].std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a[both], b[both])[0, 1], 0.0, 0.99))


def _p_value(r: float, points: float) -> float:
    if points <= 2 or not math.isfinite(r):
        return 1.0
    r = min(abs(r), 0.999999)
    t = r * math.sqrt((points - 2) / (1 - r * r))
    return float(2 * stats.t.sf(t, points - 2))


def _relative(before: float, after: float) -> float:
    if before == 0:
        return 0.0 if after == 0 else math.copysign(math.inf, after)
    return (after - before) / abs(before)


def _percent(ratio: float) -> str:
    if math.isinf(ratio):
        return "up from 0" if ratio > 0 else "down from 0"
    if ratio >= 1.0:
        return f"x{1 + ratio:.1f}"
    return f"{ratio:+.0%}"


def _resample(times: np.ndarray, values: np.ndarray, grid: np.ndarray, s: DriverSettings) -> np.ndarray:
    """Mean of the samples in each grid cell (t - step, t]; short gaps filled from the previous cell."""
    cells = np.searchsorted(grid, times, side="left")
    inside = (cells < len(grid)) & (times > grid[0] - s.step)
    sums = np.bincount(cells[inside], weights=values[inside], minlength=len(grid))
    hits = np.bincount(cells[inside], minlength=len(grid))
    out = np.full(len(grid), np.nan)
    out[hits > 0] = sums[hits > 0] / hits[hits > 0]
    fill_cells = int(s.max_gap // s.step)
    last, age = np.nan, math.inf
    for i in range(len(out)):
        if np.isfinite(out[i]):
            last, age = out[i], 0
        else:
            age += 1
            if age <= fill_cells:
                out[i] = last
    return out


def _clean(name: str, pair, counts: Counter) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        times, values = (np.asarray(a, dtype=float).reshape(-1) for a in pair)
    except (TypeError, ValueError):
        counts["unreadable series"] += 1
        log.debug("series %r is not a (timestamps, values) pair", name)
        return None
    if len(times) != len(values):
        counts["mismatched lengths"] += 1
        log.debug("series %r has %d timestamps and %d values", name, len(times), len(values))
        return None
    good = np.isfinite(times) & np.isfinite(values)
    if not good.all():
        counts["non-finite samples"] += int((~good).sum())
        times, values = times[good], values[good]
    if len(times) and np.any(np.diff(times) < 0):
        counts["unsorted series"] += 1
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
    return times, values


def _finite_number(value) -> bool:
    return isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool) \
        and math.isfinite(value)
