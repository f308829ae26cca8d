"""Simulated time that runs `speed` times faster than the wall clock from a fixed start."""

import time
from collections.abc import Callable


class SimClock:
    def __init__(self, start: int, speed: float, monotonic: Callable[[], float] = time.monotonic):
        if speed <= 0:
            raise ValueError(f"SimClock needs a positive speed, got {speed!r}")
        self.start = start
        self.speed = speed
        self._monotonic = monotonic
        self._wall_start = monotonic()

    def now(self) -> float:
        """The current simulated time, unix seconds."""
        return self.start + (self._monotonic() - self._wall_start) * self.speed

    def wall_seconds_until(self, sim_time: float) -> float:
        """Wall seconds left before the simulated clock reaches `sim_time` (negative once past)."""
        return (sim_time - self.now()) / self.speed
