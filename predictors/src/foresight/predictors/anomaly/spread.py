"""Exponentially weighted mean and spread of a stream (constant memory)."""
import math

# Raw score for any change in a stream that has had no spread at all so far.
FLAT_BREAK = 1e3


def scaled(distance: float, spread: float) -> float:
    """distance / spread, where any distance from a stream with no spread is a break."""
    if spread > 0.0:
        return distance / spread
    return FLAT_BREAK if distance > 0.0 else 0.0


class SmoothedSpread:
    """Mean and variance that forget with a time constant of `memory_rows` updates.
    The first updates use a plain running mean, so early values are not swamped by 0."""

    def __init__(self, memory_rows: int):
        self._alpha = 1.0 / memory_rows
        self.mean = 0.0
        self.var = 0.0
        self.seen = 0

    def deviation(self, x: float) -> float:
        """|x - mean| in standard deviations; 0 until two values have been seen."""
        if self.seen < 2:
            return 0.0
        return scaled(abs(x - self.mean), math.sqrt(self.var))

    def learn(self, x: float) -> None:
        self.seen += 1
        alpha = max(self._alpha, 1.0 / self.seen)
        delta = x - self.mean
        self.mean += alpha * delta
        self.var = (1.0 - alpha) * (self.var + alpha * delta * delta)
