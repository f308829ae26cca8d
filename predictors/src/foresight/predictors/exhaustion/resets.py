"""Resets (OOM kills, restarts, evictions, space freed) and the memory of past cycles."""
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from .trends import TrendFit, median


def last_reset(t: np.ndarray, v: np.ndarray, drop: float, within: float = 900.0) -> tuple[int, int] | None:
    """The last fall of more than `drop` within `within` seconds (an OOM kill, a restart,
    a cache eviction, a batch job freeing its space): (index of its peak, index of its bottom)."""
    if v.size < 2:
        return None
    step = float(np.median(np.diff(t)))
    k = max(1, round(within / step)) if step > 0 else 1
    # The next k points of each point; padded so a fall is seen up to the newest point.
    padded = np.concatenate([v, np.full(k, np.inf)])
    ahead = np.lib.stride_tricks.sliding_window_view(padded, k + 1)[: v.size - 1, 1:]
    falls = np.flatnonzero(v[:-1] - ahead.min(axis=1) > drop)
    if not falls.size:
        return None
    last = int(falls[-1])
    peak = max(0, last - k) + int(np.argmax(v[max(0, last - k):last + 1]))
    bottom = last + 1 + int(np.argmin(ahead[last]))
    return peak, bottom


@dataclass
class ResetHistory:
    """Where this series' past cycles ended: at the limit (a failure) or below it.

    A cache evicted at 90% every cycle, or a batch job that frees its scratch space, has
    many peaks below the limit and none at it; an OOM-killed leak peaks at the limit.
    """
    peaks: deque = field(default_factory=lambda: deque(maxlen=50))  # (peak, reached the limit)
    last_time: float = -math.inf
    cycle_start: tuple | None = None  # (time, value) at the bottom of the last reset
    cycle_slopes: deque = field(default_factory=lambda: deque(maxlen=10))  # growth of cycles that failed

    def record(self, time: float, peak: float, limit: float, bottom_time: float, bottom_value: float):
        if time <= self.last_time:
            return
        reached = peak >= limit - 0.02 * abs(limit)
        self.peaks.append((peak, reached))
        if reached and self.cycle_start is not None and time > self.cycle_start[0]:
            self.cycle_slopes.append((peak - self.cycle_start[1]) / (time - self.cycle_start[0]))
        self.last_time, self.cycle_start = time, (bottom_time, bottom_value)

    def prior_fit(self, t: np.ndarray, v: np.ndarray, now: float, residual_sd: float) -> "TrendFit | None":
        """A young cycle's trend taken from the cycles before it, when most of them ended at
        the limit: a service OOM-killed every few hours leaks at much the same rate each time."""
        recent = list(self.peaks)[-len(self.cycle_slopes) - 1:]
        if len(self.cycle_slopes) < 2 or sum(r for _, r in recent) < 0.5 * len(recent):
            return None
        slopes = np.array(self.cycle_slopes)
        slope = float(np.median(slopes))
        level = median(v - slope * (t - now))
        return TrendFit(level, slope, float(np.quantile(slopes, 0.1)), float(np.quantile(slopes, 0.9)), residual_sd)

    def reach_probability(self, level: float, limit: float) -> float:
        """Share of past cycles at least this high (or in the upper half) that went on to the limit.

        1 with no history, and 1 far beyond every earlier cycle: that is new territory.
        """
        if not self.peaks:
            return 1.0
        peaks = np.array([peak for peak, _ in self.peaks])
        reached = np.array([r for _, r in self.peaks])
        top = peaks.max()
        if level > top + 0.5 * (limit - top):
            return 1.0
        comparable = peaks >= min(level, float(np.median(peaks)))
        return (int(reached[comparable].sum()) + 1) / (int(comparable.sum()) + 1)
