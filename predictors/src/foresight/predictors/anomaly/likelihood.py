"""Turn a raw anomaly score into a tail probability against its own history.

The idea follows Numenta's anomaly likelihood: a raw score is only surprising relative
to how large that score usually is for this series. We keep an exponentially weighted
mean and variance of the raw score (two floats, so memory stays constant) and report
the Gaussian upper-tail probability of the short-term mean of recent raw scores.
Averaging a few rows matters: one noisy row rarely alarms, a sustained change does.

Some raw scores are 0 on most rows by construction: the range check's inside the recent
range, the novelty check's on a step it knows. A Gaussian tail is wildly overconfident
for them: after thousands of zeros the spread is near 0 and any non-zero score reads as
10 sigma (a probability of 1e-23), although in a series of sparse counts, or of plain
noise watched for days, a new highest value or a new pair of values comes every so often
by chance. So the tail is also computed as a
two-part (hurdle) model, and the larger of the two is reported: the chance of at least
as many non-zero scores among the recent rows (binomial, at the rate seen so far, which
starts from one in two rows so a short past cannot claim a tiny rate) times the chance
of non-zero scores this large (Gaussian, against the non-zero scores seen so far). For a
raw score that is rarely 0 the two agree; for a big jump both are tiny. The checks whose
scores are distances (level, shape, daily) keep the Gaussian tail alone (`zero_heavy` off).

The two-part tail tempers, it does not silence: where the Gaussian tail alone is past
`alarm_tail` (the tail that puts the detector's score at its alarm level), the tempered
tail is kept at `alarm_tail` or below. So a value or step never seen before in a long calm
stretch still reaches the alarm level (what NAB counts as a detection), and only the
two-part tail can take the score further, towards the levels that alert.
"""
import math
from collections import deque

from .spread import SmoothedSpread


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0)) if z > 0 else 1.0


class TailLikelihood:
    def __init__(self, short_rows: int, memory_rows: int, std_floor: float, zero_heavy: bool = False,
                 alarm_tail: float = 0.0):
        self._zero_heavy = zero_heavy
        self._alarm_tail = alarm_tail
        self._recent = deque(maxlen=short_rows)
        self._recent_sum = 0.0
        self._usual = SmoothedSpread(memory_rows)
        self._std_floor = std_floor
        self._sizes = SmoothedSpread(memory_rows)  # the non-zero raw scores only
        self._keep = 1.0 - 1.0 / memory_rows
        self._hits = 0.0  # exponentially weighted count of non-zero raw scores
        self._rows = 0.0  # exponentially weighted count of rows

    def update(self, raw: float | None) -> float:
        """Probability in (0, 1] that the recent raw scores are this high by chance.
        None (the check has nothing to say yet) gives 1 and is not learned."""
        if raw is None:
            return 1.0
        if len(self._recent) == self._recent.maxlen:
            self._recent_sum -= self._recent[0]
        self._recent.append(raw)
        self._recent_sum += raw
        tail = 1.0
        if self._usual.seen > 0:
            std = max(math.sqrt(self._usual.var), self._std_floor)
            tail = _upper_tail((self._recent_sum / len(self._recent) - self._usual.mean) / std)
        if self._zero_heavy and tail < 1.0:
            tempered = max(tail, self._hurdle_tail())
            tail = min(tempered, self._alarm_tail) if tail < self._alarm_tail else tempered
        self._usual.learn(raw)
        self._hits = self._keep * self._hits + (1.0 if raw > 0 else 0.0)
        self._rows = self._keep * self._rows + 1.0
        if raw > 0:
            self._sizes.learn(raw)
        return tail

    def _hurdle_tail(self) -> float:
        """P(at least this many non-zero scores among the recent rows) x P(non-zero scores this large)."""
        nonzero = [x for x in self._recent if x > 0]
        n, hits = len(self._recent), len(nonzero)
        if not hits:
            return 1.0
        rate = (self._hits + 1.0) / (self._rows + 2.0)
        chance = sum(math.comb(n, k) * rate ** k * (1.0 - rate) ** (n - k) for k in range(hits, n + 1))
        if self._sizes.seen > 0:
            std = max(math.sqrt(self._sizes.var), self._std_floor)
            chance *= _upper_tail((sum(nonzero) / hits - self._sizes.mean) / std)
        return min(1.0, chance)
