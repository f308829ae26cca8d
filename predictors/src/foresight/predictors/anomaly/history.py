"""A fixed-size ring of recent values that can always be read as one contiguous array."""
import numpy as np


class RecentValues:
    """Keeps the last `capacity` values; each value is written twice so that the newest
    `capacity` values are always a contiguous slice (no copy needed to read them)."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._buf = np.zeros(2 * capacity)
        self._next = 0
        self.count = 0

    def append(self, value: float) -> None:
        self._buf[self._next] = value
        self._buf[self._next + self.capacity] = value
        self._next = (self._next + 1) % self.capacity
        self.count += 1

    def latest(self, n: int | None = None) -> np.ndarray:
        """The newest min(n, count) values, oldest first (a read-only view)."""
        size = min(self.count, self.capacity)
        if n is not None:
            size = min(size, n)
        end = self._next + self.capacity
        return self._buf[end - size:end]
