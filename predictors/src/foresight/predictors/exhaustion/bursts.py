"""Bursts: minutes-long rises well above a series' usual level, many times a day.

Heavy requests, report queries and bulk loads hold memory or connections for a few
minutes and let go. The trend runs under them (robust fits pass them by), but what
reaches the limit first is a burst's top: the crossing that matters is the trend's with
the limit lowered by the height bursts commonly reach.

The height is read from the last day in five-minute means (the store's older points are
such means already): per clock hour, how far its highest mean rises above the higher of
the hour's two edges. A burst rises and comes back within the hour; a ramp or a step up
ends the hour at its highest, and rises by nothing in this sense. A series is bursty only
where the upper quartile of those hourly highs stands far above its ordinary scatter
(BURST_RATIO robust standard deviations of the five-minute means below their hour's
median: bursts only rise) and above BURST_FLOOR of its range, so bursts come in a quarter
of the hours or more: noise, a collector's short sawtooth or a smooth daily curve do not
reach it, and a nightly batch job of a few hours is not a quarter of the day. The bursts'
height is then the 90th percentile of the hourly highs, a height they reach in a few
hours of every day; or of the same highs in raw points (the store keeps its last hours
raw; the predictor keeps a day of raw hourly highs as the hours pass) where that is
higher: a five-minute mean takes the top off a burst of a few minutes.
"""
import numpy as np

from foresight.store.window import means_per_bin

from .calibration import sorted_quantiles
from .binned import MAD_TO_SD, median
from .trends import fit_trend

BIN = 300.0  # five minutes: the store's bin
HOUR = 3600.0
BURST_RATIO = 4.0  # a burst's height against the ordinary scatter of the five-minute means
MIN_HOURS = 8  # hours with enough means to say anything
BURST_QUANTILE = 0.9  # of the hourly highs: a height bursts reach in a few hours of the day
BURST_FLOOR = 0.02  # of the range the series and its limit span: smaller rises are no bursts
RAW_HOURS = 24  # raw hourly highs a target keeps: a day of them


def raw_hourly_highs(t: np.ndarray, v: np.ndarray) -> list[tuple[float, float]]:
    """(start, high) of each whole clock hour of raw points (ten or more, from its first five
    minutes to its last): how far its highest point rises above the higher of its two edges
    (the medians of its first and last quarter), which a burst does and a ramp or a step
    does not."""
    hours = np.floor(t / HOUR)
    firsts = np.flatnonzero(np.concatenate(([True], hours[1:] != hours[:-1])))
    counts = np.diff(np.append(firsts, t.size))
    out = []
    for a, n, hour in zip(firsts.tolist(), counts.tolist(), hours[firsts].tolist()):
        start = hour * HOUR
        if n < 10 or t[a] > start + BIN or t[a + n - 1] < start + HOUR - BIN:
            continue
        points, quarter = v[a:a + n], max(1, n // 4)
        out.append((start, float(points.max()) - max(median(points[:quarter]), median(points[-quarter:]))))
    return out


def _binned_hours(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The hourly highs of raw_hourly_highs, of the five-minute means, for whole hours (half
    of their means or more), worked out on a grid: one row per clock hour, one column per
    five-minute slot of it (a day of means takes one pass, not one per hour); and every
    mean's distance from its hour's median."""
    bt, bv = means_per_bin(t, v, BIN)
    hour = np.floor(bt / HOUR)
    row = (hour - hour[0]).astype(int)  # hours without a mean make rows without a number
    slots = int(HOUR // BIN)
    grid = np.full((row[-1] + 1, slots), np.nan)
    grid[row, ((bt % HOUR) // BIN).astype(int)] = bv
    whole = np.count_nonzero(~np.isnan(grid), axis=1) >= slots // 2
    quarter = slots // 4
    edge = np.fmax(_row_medians(grid[:, :quarter]), _row_medians(grid[:, -quarter:]))  # NaN: neither quarter has a mean
    highs = np.fmax.reduce(grid, axis=1) - edge  # NaN for an hour without a mean, without a warning
    highs = highs[whole & ~np.isnan(highs)]
    return highs, bv - _row_medians(grid)[row]


def _row_medians(grid: np.ndarray) -> np.ndarray:
    """The median of each row's numbers, NaN for a row without one (np.nanmedian, without its
    cost: sorting puts NaN last)."""
    ordered = np.sort(grid, axis=1)
    counts = np.count_nonzero(~np.isnan(grid), axis=1)
    rows = np.arange(grid.shape[0])
    low, high = np.maximum(counts - 1, 0) // 2, np.minimum(counts // 2, grid.shape[1] - 1)
    return (ordered[rows, low] + ordered[rows, high]) / 2


def burst_heights(t: np.ndarray, v: np.ndarray, span: float, bursty: bool = False,
                  raw_highs: list | None = None) -> tuple[float, float]:
    """How high the series' bursts rise: (in a few hours of every day, at most), both 0.0
    when it has none; from the points of the last day (t increasing; any daily profile
    already taken out). `span`: the range the series and its limit span; bursts smaller
    than BURST_FLOOR of it do not count. `bursty`: the series was found bursty at the last
    look; it stays so down to half the bar, so that one near the bar does not go in and
    out of it from one hour to the next (its forecast would jump with it). `raw_highs`:
    the highs of the last day's hours in raw points (raw_hourly_highs, kept as they come):
    five-minute means take the top off a burst of a few minutes, so from MIN_HOURS of
    them on, they say how high the bursts rise."""
    if t.size < 2:
        return 0.0, 0.0
    highs, about = _binned_hours(t, v)
    if highs.size < MIN_HOURS:
        return 0.0, 0.0
    common, height = sorted_quantiles(np.sort(highs), (0.75, BURST_QUANTILE))
    below = -about[about < 0]  # bursts only rise: the scatter below the hours' medians is the noise's
    scatter = MAD_TO_SD * median(below) if below.size else 0.0
    bar = max(BURST_RATIO * scatter, BURST_FLOOR * span) * (0.5 if bursty else 1.0)
    if common <= bar:  # bursts in fewer than a quarter of the hours
        return 0.0, 0.0
    raw_highs = list(raw_highs or ())
    if len(raw_highs) >= MIN_HOURS:
        height = max(height, sorted_quantiles(np.sort(raw_highs), (BURST_QUANTILE,))[0])
    return height, max([float(highs.max())] + raw_highs)


def outside_bursts(t: np.ndarray, v: np.ndarray, height: float, now: float) -> np.ndarray:
    """Which points lie outside the bursts: less than half the bursts' `height` above a
    robust line through all of them (bursts are a minority of the points, so the line
    runs under them). A burst in the last half hour would otherwise tilt the recent fits."""
    fit = fit_trend(t, v, now)
    return v - (fit.level + fit.slope * (t - now)) < height / 2
