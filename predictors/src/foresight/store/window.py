"""One series' points, oldest first: recent ones raw, older ones as means per time bin.

Sized by time, not by a count of points: at any scrape interval the window holds the
last `raw_span` of points as they came (what the predictors fit and test for resets) and
the rest, up to `max_age`, as one mean per `bin_width` of event time (what the daily
profile and the longer fits read). Three days at a 15 s scrape take about 25 KB.
"""
import math

import numpy as np

RAW_SPAN = 3 * 3600.0  # the default lookback (2 h) plus the 15 min a reset may take, with room
BIN_WIDTH = 300.0  # five minutes: the daily profile's bin
MAX_AGE = 7 * 86400.0
MAX_RAW = 2048  # a cap on raw points: a scrape faster than 5 s gets a shorter raw span
_COMPACT_BINS = 6
_GROWTH = 1.5  # buffer growth; doubling would leave up to half the buffer unused
_STATE_VERSION = 1


def bin_starts(t: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """The index of the first point in each `width`-second bin of the epoch grid that has
    points, and how many points each holds; `t` increasing and not empty."""
    bins = np.floor(t / width)
    firsts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    return firsts, np.diff(np.append(firsts, t.size))


def means_per_bin(t: np.ndarray, v: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """One (mean time, mean value) per `width`-second bin of the epoch grid that has points;
    `t` increasing. Empty bins give nothing, so gaps stay gaps."""
    if t.size == 0:
        return t, v
    firsts, counts = bin_starts(t, width)
    return np.add.reduceat(t, firsts) / counts, np.add.reduceat(v, firsts) / counts


class Window:
    """The (timestamp, value) points of one series, oldest first, in numpy buffers.

    The buffer holds [start, split) as bin means and [split, end) as raw points, so every
    reader gets views (`arrays`, `times`, `values`) without copying. Each bin mean sits at
    the mean time of its points, so the times stay increasing. A bin is made once all of
    it is older than `raw_span`, or earlier when more than `max_raw` raw points are held.
    """
    __slots__ = ("raw_span", "bin_width", "max_age", "max_raw", "_t", "_v", "_start", "_split", "_end",
                 "_compact_at")

    def __init__(self, raw_span: float = RAW_SPAN, bin_width: float = BIN_WIDTH, max_age: float = MAX_AGE,
                 max_raw: int = MAX_RAW, capacity: int = 64):
        if not (bin_width > 0 and raw_span >= 0 and max_age > 0 and max_raw >= 1):
            raise ValueError(f"window settings: raw_span={raw_span}, bin_width={bin_width}, max_age={max_age}, "
                             f"max_raw={max_raw}: bin_width, max_age and max_raw must be positive")
        self.raw_span, self.bin_width, self.max_age, self.max_raw = raw_span, bin_width, max_age, int(max_raw)
        self._t = np.empty(capacity)
        self._v = np.empty(capacity)
        self._start = self._split = self._end = 0
        self._compact_at = -math.inf

    def append(self, t: float, v: float):
        """Add a point newer than every point held (the store drops late ones before this)."""
        if self._end == self._t.size:
            self._make_room()
        self._t[self._end], self._v[self._end] = t, v
        self._end += 1
        if t >= self._compact_at or self._end - self._split > self.max_raw:
            self._compact(t)

    def _compact(self, now: float):
        """Turn raw points older than `raw_span` into bin means; drop what is older than `max_age`."""
        w = self.bin_width
        by_age = math.floor((now - self.raw_span) / w) * w  # a bin edge: the bins before it are whole
        cutoff, split, end = by_age, self._split, self._end
        if end - split > self.max_raw:  # too many raw points: keep the newest half, whole bins if it can
            keep_from = float(self._t[end - self.max_raw // 2])
            edge = math.floor(keep_from / w) * w
            cutoff = max(cutoff, edge if edge > self._t[split] else keep_from)
        k = int(np.searchsorted(self._t[split:end], cutoff))
        if k:
            means_t, means_v = means_per_bin(self._t[split:split + k], self._v[split:split + k], w)
            m, rest = means_t.size, end - split - k
            self._t[split:split + m], self._v[split:split + m] = means_t, means_v
            # numpy copies overlapping slices correctly: the raw points move down after the bins
            self._t[split + m:split + m + rest] = self._t[split + k:end]
            self._v[split + m:split + m + rest] = self._v[split + k:end]
            self._split, self._end = split + m, split + m + rest
        oldest = now - self.max_age
        if self._end > self._start and self._t[self._start] < oldest:
            drop = int(np.searchsorted(self._t[self._start:self._end], oldest))
            self._start += drop
            self._split = max(self._split, self._start)
        # Bins are made a few at a time: compacting costs the same for one bin or six.
        self._compact_at = by_age + _COMPACT_BINS * w + self.raw_span

    def _make_room(self):
        count = self._end - self._start
        if count * 2 > self._t.size:  # mostly full: grow
            size = max(int(self._t.size * _GROWTH), self._t.size + 16)
            t, v = np.empty(size), np.empty(size)
        else:  # mostly trimmed: slide to the front
            t, v = self._t, self._v
        t[:count], v[:count] = self._t[self._start:self._end], self._v[self._start:self._end]
        self._split -= self._start
        self._t, self._v, self._start, self._end = t, v, 0, count

    @property
    def times(self) -> np.ndarray:
        return self._t[self._start:self._end]

    @property
    def values(self) -> np.ndarray:
        return self._v[self._start:self._end]

    @property
    def raw_since(self) -> float | None:
        """Time of the oldest raw point: before it, points are bin means."""
        return float(self._t[self._split]) if self._end > self._split else None

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

    def nbytes(self) -> int:
        """Bytes of the buffers, spare capacity included."""
        return self._t.nbytes + self._v.nbytes

    def __len__(self):
        return self._end - self._start

    # -- checkpoints -------------------------------------------------------------------
    def to_state(self) -> dict:
        """Everything needed to rebuild this window exactly: numpy arrays and numbers only."""
        return {
            "version": _STATE_VERSION,
            "times": self.times.copy(), "values": self.values.copy(),
            "raw_from": self._split - self._start,  # index of the first raw point
            "raw_span": self.raw_span, "bin_width": self.bin_width, "max_age": self.max_age,
            "max_raw": self.max_raw, "compact_at": self._compact_at,
        }

    @classmethod
    def from_state(cls, state: dict) -> "Window":
        """The window `to_state` described; ValueError naming the field when the state is unusable."""
        missing = [k for k in ("version", "times", "values", "raw_from", "raw_span", "bin_width", "max_age",
                               "max_raw", "compact_at") if k not in state]
        if missing:
            raise ValueError(f"window state: missing field(s) {', '.join(missing)}")
        if int(state["version"]) != _STATE_VERSION:
            raise ValueError(f"window state: field 'version' is {state['version']!r}, expected {_STATE_VERSION}")
        times = np.asarray(state["times"], dtype=np.float64)
        values = np.asarray(state["values"], dtype=np.float64)
        if times.ndim != 1 or times.shape != values.shape:
            raise ValueError(f"window state: fields 'times' {times.shape} and 'values' {values.shape} "
                             f"must be 1-d arrays of one length")
        if times.size > 1 and not (np.diff(times) > 0).all():
            raise ValueError("window state: field 'times' is not strictly increasing")
        raw_from = int(state["raw_from"])
        if not 0 <= raw_from <= times.size:
            raise ValueError(f"window state: field 'raw_from' is {raw_from}, outside 0..{times.size}")
        window = cls(float(state["raw_span"]), float(state["bin_width"]), float(state["max_age"]),
                     int(state["max_raw"]), capacity=max(64, times.size + 16))
        n = times.size
        window._t[:n], window._v[:n] = times, values
        window._split, window._end = raw_from, n
        window._compact_at = float(state["compact_at"])
        return window
