"""Novelty check: has the series ever stepped between these two value bins before?

The idea follows the published Contextual Anomaly Detector (CAD): quantise values into
bins and ask whether the current bin was predicted by the bins just before it. Here the
context is the previous bin (longer contexts added nothing measurable on NAB, because
any step a longer context has seen, the one-bin context has seen too). Unlike the
distance checks this ignores how far a value moved and asks only whether this kind of
step is new, so a noisy series whose jumps repeat stops raising alarms once its usual
jumps are known, while a step into new territory stands out.

Bins have a fixed width: the range of the first `width_rows` values split into `bins`
parts. Later values outside that range fall into further bins of the same width, so
learned steps keep their meaning. At most `max_transitions` steps are remembered; once
full, new steps are no longer stored (and keep counting as new).
"""
import math
from collections import deque


class TransitionNovelty:
    def __init__(self, bins: int, width_rows: int, max_transitions: int):
        self._bins = bins
        self._width_rows = width_rows
        self._max_transitions = max_transitions
        self._width = 0.0
        self._low = math.inf
        self._high = -math.inf
        self._seen = 0
        self._previous_bin = None
        self._steps: set[tuple[int, int]] = set()
        self._first: deque = deque(maxlen=width_rows)  # the values that set the width

    @property
    def transitions_known(self) -> int:
        return len(self._steps)

    def update(self, value: float) -> float | None:
        """1.0 if the step from the previous value's bin to this one's was never seen
        before, else 0.0; None until the bin width is known (nothing to compare yet)."""
        self._seen += 1
        if not self._width:
            self._low, self._high = min(self._low, value), max(self._high, value)
            self._first.append(value)
            # A series that is still flat has no scale yet: keep waiting.
            if self._seen >= self._width_rows and self._high > self._low:
                self._width = (self._high - self._low) / self._bins
                self._learn_first()
            return None
        current = self._bin(value)
        previous, self._previous_bin = self._previous_bin, current
        step = (previous, current)
        if step in self._steps:
            return 0.0
        if len(self._steps) < self._max_transitions:
            self._steps.add(step)
        return 1.0

    def _bin(self, value: float) -> int:
        return math.floor((value - self._low) / self._width)

    def _learn_first(self):
        """The steps among the values that set the width are known, not new: otherwise
        every step just after the width is set would be flagged."""
        bins = [self._bin(v) for v in self._first]
        for step in zip(bins, bins[1:]):
            if len(self._steps) < self._max_transitions:
                self._steps.add(step)
        self._previous_bin = bins[-1]
        self._first.clear()
