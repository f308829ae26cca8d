"""Resets (OOM kills, restarts, evictions, space freed) and the memory of past cycles."""
import math
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .binned import median
from .trends import TrendFit

RESET_WITHIN = 900.0  # a reset is a fall within 15 minutes
TYPICAL_FALLS = 5.0  # ... and more than this many times the series' median 15-minute fall


def falls_ahead(t: np.ndarray, v: np.ndarray, within: float = RESET_WITHIN) -> np.ndarray:
    """For each point, how far the series falls below it within the next `within` seconds
    (0 where it does not fall, or no point follows within that time). Windows are in time,
    not points, so raw points and older bin means are judged alike."""
    n = v.size
    if n < 2:
        return np.zeros(n)
    ends = np.searchsorted(t, t + within, side="right")  # one past the last point within reach
    starts = np.arange(1, n + 1)
    pairs = np.empty(2 * n, dtype=np.intp)
    pairs[0::2], pairs[1::2] = starts, np.maximum(ends, starts)
    lowest = np.minimum.reduceat(np.append(v, np.inf), pairs)[0::2]  # min of v[i+1:end] per point
    return np.where(ends > starts, np.maximum(v - lowest, 0.0), 0.0)


def reset_threshold(span_v: np.ndarray, limit: float, falls: np.ndarray, ratio: float) -> float:
    """How far a series must fall within 15 minutes for the fall to be a reset.

    `ratio` of the range the series and its limit span together (`span_v`: the last day,
    mirrored so the limit is above), and `TYPICAL_FALLS` times its median fall
    (`falls`, from the raw lookback): what counts is the range the series moves in, not the
    limit's size (a free-space series drains towards a limit of 0), and never a fall its
    own noise or sawtooth makes every few minutes.
    """
    if span_v.size == 0:
        return 0.0
    span = max(limit, float(span_v.max())) - min(limit, float(span_v.min()))
    typical = median(falls) if falls.size else 0.0
    return max(ratio * span, TYPICAL_FALLS * typical)


def last_reset(t: np.ndarray, v: np.ndarray, drop: float, falls: np.ndarray | None = None) -> tuple[int, int] | None:
    """The last fall of more than `drop` within 15 minutes (an OOM kill, a restart, a cache
    eviction, a batch job freeing its space): (index of its peak, index of its bottom)."""
    if v.size < 2:
        return None
    falls = falls_ahead(t, v) if falls is None else falls
    over = np.flatnonzero(falls > drop)
    if not over.size:
        return None
    last = int(over[-1])
    start = int(np.searchsorted(t, t[last] - RESET_WITHIN))
    peak = start + int(np.argmax(v[start:last + 1]))
    end = int(np.searchsorted(t, t[last] + RESET_WITHIN, side="right"))
    bottom = last + 1 + int(np.argmin(v[last + 1:end]))
    return peak, bottom


def at_limit(peak: float, limit: float) -> bool:
    """A cycle that peaked within 2% of its limit reached it (an OOM kill comes just before)."""
    return peak >= limit - 0.02 * abs(limit)


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
        if time <= self.last_time or (self.cycle_start is not None and time <= self.cycle_start[0]):
            return  # this reset again, seen from a later window (its peak may seem to move as the window slides)
        reached = at_limit(peak, limit)
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

    def reach_now(self, line: float, window, sign: float, limit: float, since: float) -> float:
        """The chance this cycle goes on to the limit, from where past cycles stopped. How high
        it has got is the line, but no higher than the window's points since `since` (the last
        half hour) went: a line fitted on a batch job's fill runs on above the level where the
        job holds (half an hour holds a whole tooth of a heap's sawtooth, so the teeth do not
        make it flicker). `sign` mirrors a draining resource, as the predictor does."""
        if not self.peaks:  # no past cycle: skip the window slice, the answer is 1
            return 1.0
        _, recent = window.arrays(since=since)
        height = min(line, float(np.max(sign * recent))) if recent.size else line
        return self.reach_probability(height, sign * limit)

    def reach_probability(self, level: float, limit: float) -> float:
        """Share of past cycles at least this high (or in the upper half) that went on to the limit.

        1 with no history, and 1 far beyond every earlier cycle: that is new territory.
        With one or more such cycles at the limit, (reached + 1) / (cycles + 1): a leak that has
        OOM-killed the service before is taken at its word. With none, Laplace's rule of
        succession, 1 / (cycles + 2): one nightly batch job that filled the disk and freed it
        gives 1/3, not the 1/2 that would still page at the default `probability` of 0.5.
        """
        if not self.peaks:
            return 1.0
        cycles = tuple((float(peak), bool(reached)) for peak, reached in self.peaks)
        top, climbing, middle = _cycles_summary(cycles, limit)
        if level > top + 0.5 * (limit - top) or climbing:
            return 1.0
        comparable = [reached for peak, reached in cycles if peak >= min(level, middle)]
        went = sum(comparable)
        return (went + 1) / (len(comparable) + (1 if went else 2))


@lru_cache(maxsize=4096)
def _cycles_summary(cycles: tuple, limit: float) -> tuple[float, bool, float]:
    """The highest peak, whether the peaks are climbing to the limit, and their median: the
    same for every evaluation until a cycle ends, so worked out once."""
    peaks = np.array([peak for peak, _ in cycles])
    reached = np.array([r for _, r in cycles])
    return float(peaks.max()), climbing_to(peaks[_after_last(reached):], limit), float(np.median(peaks))


CLIMBING_CYCLES = 4  # ... whose peaks each rose above the one before


def _after_last(reached: np.ndarray) -> int:
    """The index after the last cycle that reached the limit (0 if none did)."""
    hits = np.flatnonzero(reached)
    return int(hits[-1]) + 1 if hits.size else 0


def climbing_to(peaks: np.ndarray, limit: float) -> bool:
    """Whether the last CLIMBING_CYCLES peaks each rose above the one before, by steps that
    would take the next one to the limit: a leak under a nightly log rotation ends each cycle
    higher, and its past cycles stopping short says nothing about this one. `peaks` are the
    cycles since the last one that reached the limit: a climb that ended in a failure (an OOM
    kill) started again from the bottom."""
    last = peaks[-CLIMBING_CYCLES:]
    if last.size < CLIMBING_CYCLES:
        return False
    steps = np.diff(last)
    return bool(np.all(steps > 0) and at_limit(last[-1] + float(np.median(steps)), limit))
