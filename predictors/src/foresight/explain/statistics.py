"""The statistics behind the "why": resampling onto a common grid, lagged correlation with
a significance test that allows for autocorrelation, and a single change point."""
import logging
import math
from collections import Counter

import numpy as np
from scipy import stats

log = logging.getLogger(__name__)


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


def prepare(values: np.ndarray, mode: str) -> np.ndarray:
    if mode == "differences":
        return np.diff(values, prepend=np.nan)
    finite = np.isfinite(values)
    if finite.sum() < 3:
        return values
    index = np.arange(len(values), dtype=float)
    slope, intercept = np.polyfit(index[finite], values[finite], 1)
    return values - (slope * index + intercept)


def effective_points(x, y, points: int) -> float:
    """Points corrected for autocorrelation (Bartlett): n (1 - a b) / (1 + a b)."""
    product = lag1_autocorrelation(x) * lag1_autocorrelation(y)
    return max(3.0, points * (1 - product) / (1 + product))


def lag1_autocorrelation(values: np.ndarray) -> float:
    a, b = values[1:], values[:-1]
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3 or a[both].std() == 0 or b[both].std() == 0:
        return 0.0
    return float(np.clip(np.corrcoef(a[both], b[both])[0, 1], 0.0, 0.99))


def correlation_p_value(r: float, points: float) -> float:
    if points <= 2 or not math.isfinite(r):
        return 1.0
    r = min(abs(r), 0.999999)
    t = r * math.sqrt((points - 2) / (1 - r * r))
    return float(2 * stats.t.sf(t, points - 2))


def relative_change(before: float, after: float) -> float:
    if before == 0:
        return 0.0 if after == 0 else math.copysign(math.inf, after)
    return (after - before) / abs(before)


def resample(times: np.ndarray, values: np.ndarray, grid: np.ndarray, step: float, max_gap: float) -> np.ndarray:
    """Mean of the samples in each grid cell (t - step, t]; short gaps filled from the previous cell."""
    cells = np.searchsorted(grid, times, side="left")
    inside = (cells < len(grid)) & (times > grid[0] - step)
    sums = np.bincount(cells[inside], weights=values[inside], minlength=len(grid))
    hits = np.bincount(cells[inside], minlength=len(grid))
    out = np.full(len(grid), np.nan)
    out[hits > 0] = sums[hits > 0] / hits[hits > 0]
    fill_cells = int(max_gap // step)
    last, age = np.nan, math.inf
    for i in range(len(out)):
        if np.isfinite(out[i]):
            last, age = out[i], 0
        else:
            age += 1
            if age <= fill_cells:
                out[i] = last
    return out


def clean_series(name: str, pair, counts: Counter) -> tuple[np.ndarray, np.ndarray] | None:
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
