"""Turn a raw anomaly score into a tail probability against its own history.

The idea follows Numenta's anomaly likelihood: a raw score is only surprising relative
to how large that score usually is for this series. We keep an exponentially weighted
mean and variance of the raw score (two floats, so memory stays constant) and report
the Gaussian upper-tail probability of the short-term mean of recent raw scores.
Averaging a few rows matters: one noisy row rarely alarms, a sustained change does.
"""
import math
from collections import deque

from .spread import SmoothedSpread


class TailLikelihood:
    def __init__(self, short_rows: int, memory_rows: int, std_floor: float):
        self._recent = deque(maxlen=short_rows)
        self._recent_sum = 0.0
        self._usual = SmoothedSpread(memory_rows)
        self._std_floor = std_floor

    def update(self, raw: float) -> float:
        """Probability in (0, 1] that the recent raw scores are this high by chance."""
        if len(self._recent) == self._recent.maxlen:
            self._recent_sum -= self._recent[0]
        self._recent.append(raw)
        self._recent_sum += raw
        short_mean = self._recent_sum / len(self._recent)
        tail = 1.0
        if self._usual.seen > 0:
            std = max(math.sqrt(self._usual.var), self._std_floor)
            z = (short_mean - self._usual.mean) / std
            if z > 0:
                tail = 0.5 * math.erfc(z / math.sqrt(2.0))
        self._usual.learn(raw)
        return tail
