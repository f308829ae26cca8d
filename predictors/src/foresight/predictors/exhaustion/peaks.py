"""The trend of the daily peaks: on a series with a daily cycle, the day's peak is what
reaches the limit first, and traffic that grows a few percent a day grows the peak with it
(the daily shape scales, so an additive profile fitted on earlier days understates it).

Each past day's peak is the highest five-minute mean within PEAK_HALF_WIDTH of the time of
day the profile peaks at. A straight line through the last MAX_DAYS peaks (at least
MIN_DAYS) forecasts the coming peaks; the time to failure is to the first that crosses.
"""
import math
from dataclasses import dataclass

import numpy as np

from foresight.store import bin_starts, means_per_bin

from .seasonality import BIN_SECONDS, DAY, DailyProfile
from .binned import median

PEAK_HALF_WIDTH = 2 * 3600.0
MIN_DAYS, MAX_DAYS = 3, 7
TODAY_AGREEMENT = 3.0  # today's scaled peak within this many of the line's spreads
TODAY_MIN_BINS = 6  # half an hour of five-minute means in the last hour, and a day before
TODAY_SPAN = 3600.0  # today's last hour, against the same hour yesterday


@dataclass
class PeakTrend:
    """A line through the recent daily peaks (value per second of event time)."""
    peak_time: float  # the latest past peak's time of day, as an event time
    level: float  # the line's value at peak_time
    slope: float
    residual_sd: float
    days: int
    mean_time: float  # of the fitted peaks' times, for the line's own uncertainty
    time_spread: float  # sum of squared deviations of the peaks' times from mean_time
    last_peak: float  # the latest past peak itself
    excess: float = 0.0  # how far single points rise above their five-minute mean (the peaks are of means)
    today: tuple | None = None  # (ratio, its spread) of today's values to yesterday's at the same time of day

    def forecast(self, peak: float, first: bool) -> tuple[float, float]:
        """The peak expected at event time `peak` (a later peak time) and its spread.

        The line through the past peaks gives it. For the first coming peak, today's values
        so far say more: yesterday's peak scaled by how much higher today runs than yesterday
        at the same time of day (traffic that grows scales the whole daily shape), when that
        agrees with the line. When it does not, today differs for another reason (a deploy
        step, a burst) that says nothing about the peak's growth."""
        mean = self.level + self.slope * (peak - self.peak_time)
        leverage = 1 + 1 / self.days + (peak - self.mean_time) ** 2 / self.time_spread
        spread = self.residual_sd * math.sqrt(leverage)
        if first and self.today is not None:
            ratio, ratio_sd = self.today
            scaled = self.last_peak * ratio
            if abs(scaled - mean) <= TODAY_AGREEMENT * spread:
                mean, spread = scaled, math.hypot(self.last_peak * ratio_sd, self.residual_sd)
        return mean + self.excess, spread

    def crossings(self, limit: float, now: float, horizon: float) -> list[tuple[float, float]]:
        """(seconds from now, P(that peak reaches the limit)) for each peak within `horizon`."""
        out = []
        peak = self.peak_time + DAY
        while peak + PEAK_HALF_WIDTH < now:  # the first peak whose window has not passed
            peak += DAY
        first = peak - DAY == self.peak_time
        while peak - now <= horizon:
            mean, spread = self.forecast(peak, first)
            first = False
            p = 0.5 * math.erfc((limit - mean) / (spread * math.sqrt(2))) if spread > 0 else float(mean >= limit)
            out.append((max(peak - now, 0.0), p))
            peak += DAY
        return out

    def take_crossings(self, limit: float, now: float, horizon: float, ttf: dict, probability: dict,
                       reach: float) -> bool:
        """Where the coming peaks cross sooner or likelier than the trend path did, they set
        the time-to-failure quantiles and the probabilities per window (both changed in
        place; `reach` scales the probabilities as it does the path's). True when they did."""
        crossings = self.crossings(limit, now, horizon)
        took = False
        for window in probability:
            p = reach * max((p for seconds, p in crossings if seconds <= window), default=0.0)
            if p > probability[window]:
                probability[window], took = p, True
        likeliest, top = [], 0.0  # P(TTF <= a peak): the likeliest crossing among the peaks up to it
        for seconds, p in crossings:
            top = max(top, p)
            likeliest.append((seconds, top))
        for q in ttf:
            first = next((seconds for seconds, p in likeliest if p >= q), math.inf)
            if first < ttf[q]:
                ttf[q], took = first, True
        return took


def fit_peak_trend(t: np.ndarray, v: np.ndarray, profile: DailyProfile, now: float,
                   floor: float, since: float = -math.inf) -> PeakTrend | None:
    """The line through the daily peaks since `since` (the last reset: peaks of an earlier
    cycle, its failure among them, are another story), or None with fewer than MIN_DAYS
    peak windows, or peaks that do not rise by more than they scatter about their line.
    `floor` bounds the residual spread from below (a few peaks can lie on a line by chance)."""
    keep = t >= since
    t, v = t[keep], v[keep]
    if t.size == 0:
        return None
    t, v = means_per_bin(t, v, BIN_SECONDS)
    peak_offset = (int(np.argmax(profile.offsets)) + 0.5) * BIN_SECONDS  # seconds into the UTC day
    latest = (now - PEAK_HALF_WIDTH) // DAY * DAY + peak_offset
    if latest + PEAK_HALF_WIDTH > now:
        latest -= DAY  # its window is not over yet
    times, peaks = [], []
    for k in range(MAX_DAYS):
        centre = latest - k * DAY
        inside = (t >= centre - PEAK_HALF_WIDTH) & (t <= centre + PEAK_HALF_WIDTH)
        if inside.sum() < PEAK_HALF_WIDTH / BIN_SECONDS:  # at least half the window's bins
            break
        times.append(centre)
        peaks.append(float(v[inside].max()))
    if len(peaks) < MIN_DAYS:
        return None
    x, y = np.array(times[::-1]), np.array(peaks[::-1])
    mean_time = float(x.mean())
    spread = float(((x - mean_time) ** 2).sum())
    slope = float(((x - mean_time) * (y - y.mean())).sum() / spread)
    if slope <= 0:
        return None
    fitted = y.mean() + slope * (x - mean_time)
    residual_sd = max(float(np.sqrt(((y - fitted) ** 2).sum() / max(len(y) - 2, 1))), floor)
    if slope * DAY <= residual_sd:  # no steady rise from day to day: a burst or a failure among them
        return None
    return PeakTrend(peak_time=float(x[-1]), level=float(fitted[-1]), slope=slope, residual_sd=residual_sd,
                     days=len(y), mean_time=mean_time, time_spread=spread, last_peak=float(y[-1]))


def excess_over_means(t: np.ndarray, v: np.ndarray) -> float:
    """The median of (highest point - mean) over the five-minute bins of raw points: what a
    single scrape adds to a peak of five-minute means."""
    if t.size < 2:
        return 0.0
    firsts, counts = bin_starts(t, BIN_SECONDS)
    several = counts > 1
    if not several.any():
        return 0.0
    highest = np.maximum.reduceat(v, firsts)
    means = np.add.reduceat(v, firsts) / counts
    return median((highest - means)[several])


def today_ratio(t_now: np.ndarray, v_now: np.ndarray, t_then: np.ndarray, v_then: np.ndarray) -> tuple | None:
    """(ratio, its spread) of the last hour's five-minute means to those a day earlier, bin by
    bin, or None with too few pairs or values near zero (no ratio there)."""
    a_t, a_v = means_per_bin(t_now, v_now, BIN_SECONDS)
    b_t, b_v = means_per_bin(t_then + DAY, v_then, BIN_SECONDS)
    ia, ib = _common(np.floor(a_t / BIN_SECONDS), np.floor(b_t / BIN_SECONDS))
    if ia.size < TODAY_MIN_BINS or (b_v[ib] <= 0).any() or (a_v[ia] <= 0).any():
        return None
    ratios = a_v[ia] / b_v[ib]
    n = ratios.size
    deviations = ratios - ratios.sum() / n  # ratios.std(ddof=1), without np.std's overhead
    return median(ratios), math.sqrt((deviations * deviations).sum() / (n - 1)) / math.sqrt(n)


def _common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices into a and b of the values both hold, as np.intersect1d(a, b,
    return_indices=True) gives them. Bin numbers come increasing, one per bin: a binary
    search then does what intersect1d's sort of both arrays would."""
    if a.size and b.size and (np.diff(a) > 0).all() and (np.diff(b) > 0).all():
        at = np.minimum(np.searchsorted(b, a), b.size - 1)
        ia = np.flatnonzero(b[at] == a)
        return ia, at[ia]
    return np.intersect1d(a, b, return_indices=True)[1:]


def update_today(peaks: PeakTrend, window, sign: float, t: np.ndarray, v: np.ndarray, now: float):
    """Today against yesterday (the first coming peak's scale), and what single points add
    to five-minute means, from the raw lookback (`t`, `v`, mirrored by `sign`) of `window`."""
    recent = t >= now - TODAY_SPAN
    then_t, then_v = window.arrays(since=now - DAY - TODAY_SPAN)
    before = then_t <= now - DAY
    peaks.today = today_ratio(t[recent], v[recent], then_t[before], sign * then_v[before])
    peaks.excess = excess_over_means(t, v)
