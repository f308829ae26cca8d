"""A daily profile: what time of day alone explains in a series.

Fitted on two or more whole days of history after removing the slow trend, so a morning ramp
or a nightly batch job is recognised as the time of day rather than extrapolated as a
trend towards the limit.
"""
from dataclasses import dataclass

import numpy as np

from foresight.store import means_per_bin

from .binned import median

DAY = 86400.0
BINS = 288  # five-minute bins
BIN_SECONDS = _BIN = DAY / BINS
PROFILE_DAYS = 2  # whole days of history before a daily profile is fitted


@dataclass
class DailyProfile:
    offsets: np.ndarray  # per five-minute bin of the UTC day, mean zero
    days: int = 0  # whole days of history it was fitted on

    def at(self, t):
        if isinstance(t, float):  # one time: plain float arithmetic, same bin as numpy's
            return self.offsets[int((t % DAY) // _BIN)]
        return self.offsets[((np.asarray(t) % DAY) // _BIN).astype(int)]


def fit_profile(t: np.ndarray, v: np.ndarray, now: float) -> "DailyProfile | None":
    """The daily profile of a stored window's points (raw, or five-minute means further back)."""
    # Five-minute means, whatever the scrape interval and however the store holds the
    # points: recent raw points must not outweigh older bin means.
    t, v = means_per_bin(t, v, BIN_SECONDS)
    if t.size < 2 or now - t[0] < PROFILE_DAYS * DAY:
        return None
    # The slow trend, blind to the time of day: the change between whole-day means.
    first, last = t < t[0] + DAY, t >= now - DAY
    slope = (v[last].mean() - v[first].mean()) / (t[last].mean() - t[first].mean())
    return fit_daily_profile(t, v, slope)


def fit_daily_profile(t: np.ndarray, v: np.ndarray, slope: float, min_days: int = 2,
                      min_correlation: float = 0.5, min_strength: float = 0.3) -> DailyProfile | None:
    """The profile, or None when there are too few days or no pattern that repeats.

    `slope` is the series' slow trend, removed first so a leak is not mistaken for a
    time-of-day effect. Each whole day gives its own profile; they must agree with one
    another (mean correlation), so a one-off deploy step or a leak that stopped is not
    learnt as the time of day. The profile is their per-bin median.
    """
    if t.size < BINS:
        return None
    residuals = v - slope * (t - t[-1])
    residuals = residuals - np.median(residuals)
    age_days = ((t[-1] - t) // DAY).astype(int)  # 0 is the most recent 24 h
    n_days = int(age_days.max()) + 1
    bins = ((t % DAY) // _BIN).astype(int)
    flat = age_days * BINS + bins
    counts = np.bincount(flat, minlength=n_days * BINS).reshape(n_days, BINS)
    sums = np.bincount(flat, residuals, minlength=n_days * BINS).reshape(n_days, BINS)
    whole = (counts > 0).mean(axis=1) >= 0.9
    if whole.sum() < min_days:
        return None
    days = np.where(counts[whole] > 0, sums[whole] / np.maximum(counts[whole], 1), np.nan)
    days = days - np.nanmean(days, axis=1, keepdims=True)
    if _mean_correlation(days) < min_correlation:
        return None
    # nanmedian equals median where no bin is empty, at a tenth of its cost
    profile = np.nanmedian(days, axis=0) if np.isnan(days).any() else np.median(days, axis=0)
    missing = np.isnan(profile)
    if missing.any():  # fill the few empty bins from their neighbours, around the clock
        idx = np.arange(BINS)
        profile[missing] = np.interp(idx[missing], idx[~missing], profile[~missing], period=BINS)
    profile = np.convolve(np.r_[profile[-1], profile, profile[0]], np.ones(3) / 3, mode="valid")
    profile -= profile.mean()
    total = residuals.var()
    if total <= 0 or 1 - (residuals - profile[bins]).var() / total < min_strength:
        return None
    return DailyProfile(profile, int(whole.sum()))


def _mean_correlation(days: np.ndarray) -> float:
    """Mean pairwise correlation of the day profiles (NaN bins ignored)."""
    scores = []
    for i in range(len(days)):
        for j in range(i + 1, len(days)):
            both = ~np.isnan(days[i]) & ~np.isnan(days[j])
            a, b = days[i][both], days[j][both]
            if a.std() > 0 and b.std() > 0:
                scores.append(float(np.corrcoef(a, b)[0, 1]))
    return float(np.mean(scores)) if scores else 0.0


def left_the_day(t: np.ndarray, v: np.ndarray, day_v: np.ndarray, profile: DailyProfile, since: float) -> bool:
    """Whether the deseasonalised series (`t`, `v`) has, since `since`, risen above its day
    (`day_v`) by more than the profile's whole range. No time of day explains that, so the
    day's slope no longer describes the trend (a leak that began today)."""
    latest = v[t >= since]
    if latest.size == 0 or day_v.size == 0:
        return False
    return median(latest) - median(day_v) > float(np.ptp(profile.offsets))
