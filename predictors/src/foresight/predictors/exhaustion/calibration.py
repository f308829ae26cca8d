"""Each series' track record: realised growth against the growth it was forecast."""
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np


NEW_REGIME = 3.0  # a slope this many times steeper than the record's 90th percentile is a new regime
FLATTER = 10.0  # ... and one this many times flatter than its median


@dataclass
class GrowthCalibration:
    """How this series' realised growth compared with the slope forecast from it.

    Each evaluation leaves a forecast; `check_after` later, the realised change divided by
    the forecast change is one multiplier. Their quantiles scale the slope, so the TTF
    range reflects this series' own track record (acceleration, bursts) rather than the
    fit's optimism. A reset discards pending forecasts.
    """
    check_after: float
    min_samples: int = 20
    pending: deque = field(default_factory=deque)  # (time, level, slope)
    multipliers: deque = field(default_factory=lambda: deque(maxlen=150))  # the recent record: a few hours of evaluations
    slopes: deque = field(default_factory=lambda: deque(maxlen=150))  # the forecast slope behind each multiplier
    _sorted: np.ndarray | None = None  # cache of sorted multipliers, cleared on change
    _quantiles: tuple | None = None  # (qs, their quantiles), cleared on change like _sorted
    _covered: tuple | None = None  # (flattest, steepest) slope the record covers, cleared on change like _sorted

    def observe(self, now: float, value: float, reset_since: float, noise: float):
        while self.pending and self.pending[0][0] <= now - self.check_after:
            t, level, slope = self.pending.popleft()
            expected = slope * (now - t)
            if t >= reset_since and expected > 2 * noise and expected > 0:
                self.multipliers.append((value - level) / expected)
                self.slopes.append(slope)
                self._sorted = self._quantiles = self._covered = None

    def remember(self, now: float, level: float, slope: float):
        self.pending.append((now, level, slope))

    def ready(self) -> bool:
        return len(self.multipliers) >= self.min_samples

    def speaks_for(self, slope: float) -> bool:
        """Whether this record may scale a forecast of growth at `slope`: it is long enough,
        the forecast is of growth, and the record was learnt on forecasts like it."""
        return self.ready() and slope > 0 and self.covers(slope)

    def covers(self, slope: float) -> bool:
        """Whether the record was made on forecasts like this one: at most NEW_REGIME times
        steeper than most it was learnt on, and at most FLATTER times flatter than their
        median. A multiplier says how a forecast of some size came true; those of a flat
        spell's small forecasts, which never came true, say nothing about a leak's growth,
        nor those of a start-up climb's steep ones about the slow leak after it."""
        if not self.slopes:  # a record from before slopes were kept
            return True
        if self._covered is None:
            q50, q90 = sorted_quantiles(np.sort(np.fromiter(self.slopes, float)), (0.5, 0.9))
            self._covered = (q50 / FLATTER, NEW_REGIME * q90)
        return self._covered[0] <= slope <= self._covered[1]

    def _values(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(np.fromiter(self.multipliers, float))
        return self._sorted

    def quantile(self, q: float) -> float:
        return sorted_quantiles(self._values(), (q,))[0]

    def quantiles(self, qs: tuple) -> list:
        """quantile(q) for each of qs, cached until the record changes (most evaluations add
        no multiplier)."""
        if self._quantiles is None or self._quantiles[0] != qs:
            self._quantiles = (qs, sorted_quantiles(self._values(), qs))
        return self._quantiles[1]

    def share_at_least(self, needed: float) -> float:
        m = self._values()
        below = int(np.searchsorted(m, needed))
        return (m.size - below + 0.5) / (m.size + 1)


def sorted_quantiles(values: np.ndarray, qs) -> list[float]:
    """np.quantile(values, qs) (its default, linear method) of an already sorted float array,
    bit for bit, without np.quantile's overhead (about 100 µs a call, for every target whose
    record changed, every loop). NumPy's steps: index (n - 1) * q, its floor and the next
    one, clipped to the array; then a + (b - a) * g, or b - (b - a) * (1 - g) for g >= 0.5."""
    n = values.size
    last = float(values[-1])
    out = []
    for q in qs:
        virtual = (n - 1) * q
        previous = math.floor(virtual)
        following = previous + 1
        if virtual >= n - 1:
            previous = following = -1
        elif virtual < 0:
            previous = following = 0
        gamma = virtual - previous
        a, b = float(values[previous]), float(values[following])
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    if math.isnan(last):  # NaN sorts last; NumPy then answers NaN
        return [last] * len(out)
    return out
