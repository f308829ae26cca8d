"""Robust straight trends: Theil-Sen lines over a window and its recent parts."""
import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from foresight.contracts.predictions import PUBLISHED_HORIZONS, TTF_QUANTILES

from .binned import MAD_TO_SD, median
from .shifts import level_shift

Z80 = 1.2815515655446004  # the 0.9 quantile of the standard normal
Q_LOW, Q_MID, Q_HIGH = TTF_QUANTILES
MIN_FIT_SPAN = 600.0  # a line over less than ten minutes is ruled by its noise and its last spike
_MAX_FIT_POINTS = 48  # Theil-Sen is O(n^2); a strided sample keeps the fit cheap


@dataclass
class TrendFit:
    level: float  # fitted value at `now`
    slope: float
    slope_low: float
    slope_high: float
    residual_sd: float

    def spread(self, seconds: float) -> float:
        slope_sd = (self.slope_high - self.slope_low) / (2 * Z80)
        return math.hypot(slope_sd * seconds, self.residual_sd)


def value_forecast(fit: TrendFit, start: float, seasons: list, sign: float) -> dict:
    """The published forecast of the values, {(horizon, quantile): value}: from `start` (where
    the values are now, not a sawtooth's peaks), the fit's line plus each horizon's daily-profile
    offset (`seasons`, one per PUBLISHED_HORIZONS), with the fit's spread for the 80% range.
    `sign` -1 mirrors a draining resource back."""
    forecast = {}
    for h, season in zip(PUBLISHED_HORIZONS, seasons):
        mean, spread = start + fit.slope * h + season, fit.spread(h)
        low, mid, high = sign * (mean + -Z80 * spread), sign * (mean + 0.0 * spread), sign * (mean + Z80 * spread)
        if sign < 0:  # mirror the quantiles back: the low forecast of -v is the high of v
            low, high = high, low
        forecast[(h, Q_LOW)], forecast[(h, Q_MID)], forecast[(h, Q_HIGH)] = low, mid, high
    return forecast


@lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


@lru_cache(maxsize=None)
def _strided(n: int, k: int) -> np.ndarray:
    return np.linspace(0, n - 1, k).round().astype(int)


def _sample(t: np.ndarray, k: int) -> np.ndarray:
    """Indices of about k points spread evenly in time. On evenly spaced points that is every
    (n/k)th point; where the store holds older points as bin means and recent ones raw, it
    keeps the recent hours from ruling the fit."""
    n = t.size
    if (t[-1] - t[0]) <= 1.5 * (n - 1) * (t[-1] - t[-2]):  # about evenly spaced
        return _strided(n, k)
    grid = np.linspace(t[0], t[-1], k)
    right = np.searchsorted(t, grid).clip(1, n - 1)
    nearest = right - ((grid - t[right - 1]) <= (t[right] - grid))
    return np.unique(nearest)


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Median pairwise slope with its 80% interval (Sen 1968, as scipy.stats.theilslopes)."""
    i, j = _pairs(x.size)
    if x.size > 1 and (x[1:] > x[:-1]).all():  # increasing times: no pair to leave out
        slopes = (y.take(j) - y.take(i)) / (x.take(j) - x.take(i))
    else:
        dx = x[j] - x[i]
        ok = dx != 0
        slopes = (y[j] - y[i])[ok] / dx[ok]
    m = slopes.size
    if m == 0:
        return 0.0, 0.0, 0.0
    n = x.size
    sigma = math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    ranks = (max(int(round((m - Z80 * sigma) / 2.0)), 0), (m - 1) // 2, m // 2,
             min(int(round((m + Z80 * sigma) / 2.0)) - 1, m - 1))
    # Only these four ranks are read: a partial sort puts each in its place. A full sort
    # where it could differ: NaN (only values that are not finite make one), and zeros
    # (-0.0 and 0.0 tie, and which one lands on a rank depends on the algorithm).
    picked = np.partition(slopes, ranks)[list(ranks)] if np.isfinite(y).all() else None
    if picked is None or not picked.all():
        picked = np.sort(slopes)[list(ranks)]
    low, mid_a, mid_b, high = picked
    return float(mid_a + mid_b) / 2, float(low), float(high)


def fit_trend(t: np.ndarray, v: np.ndarray, now: float) -> TrendFit:
    if t.size > _MAX_FIT_POINTS:
        idx = _sample(t, _MAX_FIT_POINTS)
        t, v = t[idx], v[idx]
    x = t - now  # centre on now for numerical stability
    slope, low, high = theil_sen(x, v)
    rise = slope * x
    level = median(v - rise)
    residuals = v - (level + rise)
    residual_sd = MAD_TO_SD * median(np.abs(residuals - median(residuals)))
    return TrendFit(level, slope, low, high, residual_sd)


def fit_multiscale(t: np.ndarray, v: np.ndarray, now: float, min_points: int,
                   long: tuple[np.ndarray, np.ndarray] | None = None) -> TrendFit | None:
    """Trends over the whole window and its recent half and quarter (each recent part over
    at least MIN_FIT_SPAN). The window starts after a level shift up in it, when one made
    most of its rise (shifts.py): a jump is no trend, what follows it may be. Until
    MIN_FIT_SPAN has followed the jump, the trend before it goes on from the new level.

    The central slope is their median; the range spans all of their intervals, so an
    accelerating (or slowing) series widens the range instead of hiding behind one fit.
    `long`, a day of deseasonalised history, gives the central slope when present: on a
    series with a daily cycle, a short window is ruled by how well the profile fits.
    """
    shift = level_shift(t, v)
    if shift is not None:
        before, after = shift
        if t.size - after < min_points or now - t[after] < MIN_FIT_SPAN:
            trend = fit_multiscale(t[:before], v[:before], now, min_points) if before >= min_points else None
            if trend is None:
                return None
            return replace(trend, level=median(v[after:] - trend.slope * (t[after:] - now)))
        t, v = t[after:], v[after:]
    span = now - t[0]
    parts = [(t, v)]
    for share in (0.5, 0.25):
        first = int(np.searchsorted(t, now - share * span))  # t is increasing: t >= the cut is a tail
        if t.size - first >= min_points and now - t[first] >= MIN_FIT_SPAN:
            parts.append((t[first:], v[first:]))
    fits = [fit_trend(pt, pv, now) for pt, pv in parts]
    central = fits[int(np.argsort([f.slope for f in fits])[len(fits) // 2])]
    if long is not None and long[0].size >= min_points:
        day_fit = fit_trend(long[0], long[1], now)
        central = TrendFit(central.level, day_fit.slope, day_fit.slope_low, day_fit.slope_high, central.residual_sd)
        fits.append(day_fit)
    return TrendFit(level=central.level, slope=central.slope,
                    slope_low=min(f.slope_low for f in fits), slope_high=max(f.slope_high for f in fits),
                    residual_sd=max(f.residual_sd for f in fits))


@dataclass
class Levelling:
    """A rise that slows down as an exponential approach to a ceiling would."""
    recent: TrendFit  # the trend of the window's second half, at now
    time_constant: float  # seconds in which the rate falls by a factor e
    rate_now: float  # the rate at now, on that curve

    @property
    def remaining_rise(self) -> float:
        """How much higher it gets if it goes on levelling off: rate_now x time_constant."""
        return self.rate_now * self.time_constant

    def fit(self) -> TrendFit:
        """A trend for the crossing path: no growth at the centre (it levels off), and at the
        high end the rate it rises at now, in case it does not."""
        r = self.recent
        return TrendFit(r.level, 0.0, min(0.0, r.slope_low), max(self.rate_now, 0.0), r.residual_sd)


def levelling(t: np.ndarray, v: np.ndarray, now: float, min_points: int) -> Levelling | None:
    """How a rise levels off, or None when it shows no sign of it.

    A new process's memory, a cache warming up or a pool filling at start-up ramps up and
    then flattens; a leak does not. The window's recent part (its second half, or its last
    quarter for a rise that has just stopped) rises clearly slower than the part before:
    its 80% range lies wholly below the earlier part's slope, and its central slope is
    under LEVELLING of it. The ratio of the two rates gives the time constant of an
    exponential approach, and from it the rise still to come. Where both splits show it,
    the one with the lower ceiling speaks: a collector's teeth tilt the slope of whichever
    part ends in a tooth, and a steady leak shows as levelling in neither split. The parts
    are measured back from the newest point: a staircase's newest update can be an hour
    before `now`.
    """
    newest = float(t[-1])
    span = newest - float(t[0])
    least = max(5, min_points // 2)
    found = []
    for share in (0.5, 0.25):
        recent_part = t >= newest - share * span
        if recent_part.sum() < least or (~recent_part).sum() < least:
            continue
        early = fit_trend(t[~recent_part], v[~recent_part], now)
        recent = fit_trend(t[recent_part], v[recent_part], now)
        if early.slope <= 0 or not (recent.slope_high < early.slope and recent.slope < LEVELLING * early.slope):
            continue
        gap = span / 2  # between the two parts' midpoints, whatever the share
        rate = max(recent.slope, 0.0)
        if rate == 0.0:
            found.append(Levelling(recent, gap, 0.0))
            continue
        tau = gap / math.log(early.slope / rate)
        found.append(Levelling(recent, tau, rate * math.exp(-(now - newest + share * span / 2) / tau)))
    return min(found, key=lambda r: r.recent.level + r.remaining_rise) if found else None


LEVELLING = 0.8


def still_rising(t: np.ndarray, v: np.ndarray, now: float, span: float, min_points: int) -> bool:
    """Whether the last `span` rises steadily: the low end of its slope's 80% range is above
    zero, and no single step between points makes half of the rise (a deploy's step up is
    one jump, a leak many small ones)."""
    recent = t >= now - span
    if recent.sum() < min_points:
        return False
    fit = fit_trend(t[recent], v[recent], now)
    rise = fit.slope * float(t[-1] - t[recent][0])
    return fit.slope_low > 0 and float(np.max(np.diff(v[recent]))) < 0.5 * rise
