"""One series' recent points, oldest first, in numpy buffers."""
import numpy as np


class Window:
    """The recent (timestamp, value) points of one series, oldest first.

    Backed by numpy buffers so a predictor gets its recent points as views, without
    copying the whole window at every evaluation.
    """
    __slots__ = ("max_points", "max_age", "_t", "_v", "_start", "_end")

    def __init__(self, max_points: int, max_age: float, capacity: int = 64):
        self.max_points, self.max_age = max_points, max_age
        self._t = np.empty(capacity)
        self._v = np.empty(capacity)
        self._start = self._end = 0

    def append(self, t: float, v: float):
        if self._end == self._t.size:
            self._make_room()
        self._t[self._end], self._v[self._end] = t, v
        self._end += 1
        self._start = max(self._start, self._end - self.max_points)
        if self._t[self._start] < t - self.max_age:
            self._start += int(np.searchsorted(self._t[self._start:self._end], t - self.max_age))

    def _make_room(self):
        count = self._end - self._start
        if count * 2 > self._t.size:  # mostly full: grow
            size = self._t.size * 2
            t, v = np.empty(size), np.empty(size)
        else:  # mostly trimmed: slide to the front
            t, v = self._t, self._v
        t[:count], v[:count] = self._t[self._start:self._end], self._v[self._start:self._end]
        self._t, self._v, self._start, self._end = t, v, 0, count

    @property
    def times(self) -> np.ndarray:
        return self._t[self._start:self._end]

    @property
    def values(self) -> np.ndarray:
        return self._v[self._start:self._end]

    @property
    def last_time(self) -> float | None:
        return float(self._t[self._end - 1]) if self._end > self._start else None

    @property
    def last_value(self) -> float | None:
        return float(self._v[self._end - 1]) if self._end > self._start else None

    def arrays(self, since: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Views of the points at or after `since` (do not modify them)."""
        t, v = self.times, self.values
        if since is not None:
            i = int(np.searchsorted(t, since))
            t, v = t[i:], v[i:]
        return t, v

    def __len__(self):
        return self._end - self._start
