"""A daily profile: what time of day alone explains in a series.

Fitted on two or more days of history after removing the slow trend, so a morning ramp
or a nightly batch job is recognised as the time of day rather than extrapolated as a
trend towards the limit.
"""
from dataclasses import dataclass

import numpy as np

DAY = 86400.0
BINS = 288  # five-minute bins
_BIN = DAY / BINS


@dataclass
class DailyProfile:
    offsets: np.ndarray  # per five-minute bin of the UTC day, mean zero

    def at(self, t):
        return self.offsets[((np.asarray(t) % DAY) // _BIN).astype(int)]


def fit_daily_profile(t: np.ndarray, v: np.ndarray, slope: float, min_days: float = 2.0,
                      min_strength: float = 0.3) -> DailyProfile | None:
    """The profile, or None when there is too little history or the daily pattern is weak.

    `slope` is the series' slow trend, removed first so a leak is not mistaken for a
    time-of-day effect. Strength is the share of the detrended variance the profile explains.
    """
    if t.size < BINS or t[-1] - t[0] < min_days * DAY:
        return None
    residuals = v - slope * (t - t[-1])
    residuals = residuals - np.median(residuals)
    bins = ((t % DAY) // _BIN).astype(int)
    counts = np.bincount(bins, minlength=BINS)
    if (counts == 0).mean() > 0.1:
        return None
    sums = np.bincount(bins, residuals, minlength=BINS)
    profile = np.divide(sums, counts, out=np.zeros(BINS), where=counts > 0)
    filled = counts > 0
    if not filled.all():  # fill the few empty bins from their neighbours, around the clock
        idx = np.arange(BINS)
        profile[~filled] = np.interp(idx[~filled], idx[filled], profile[filled], period=BINS)
    profile = np.convolve(np.r_[profile[-1], profile, profile[0]], np.ones(3) / 3, mode="valid")
    profile -= profile.mean()
    total = residuals.var()
    if total <= 0 or 1 - (residuals - profile[bins]).var() / total < min_strength:
        return None
    return DailyProfile(profile)
