"""Kinds whose failures are found where their curve first reaches the limit, to the second,
and the traffic many of them follow.

A failing resource here lives in cycles: a cycle begins when a leak starts (or a process
restarts, or a fill begins) and ends at the first whole second where its share reaches 1.0:
that second is the failure and the cycle's start is the ramp start of that failure. After a
failure either a new cycle begins at once (a restarted process leaks again; a pool scaled
out keeps growing with its traffic) or the resource returns to its base for good (a disk
cleaned up, a bad deploy rolled back). Curves are pure functions of the unix second, so a
scan at one-second steps and any sampling of the series agree exactly.
"""

import numpy as np

from . import noise
from .conditions import DAY, HOUR
from .resource_kind import Kind, _between, _smoothstep

__all__ = ["CrossingKind", "traffic", "traffic_peak_second", "service_noise", "SCAN_CHUNK"]

SCAN_CHUNK = 6 * HOUR  # seconds evaluated at once while looking for a crossing


def _shift(seed: int) -> int:
    return int(_between(seed, "traffic-shift", -3, 3) * HOUR)


def _peak_at(seed: int) -> float:
    return _between(seed, "traffic-peak-at", 12, 19) * HOUR


def traffic_peak_second(seed: int) -> int:
    """UTC second of the day at which `traffic` peaks."""
    return int(_peak_at(seed) - _shift(seed)) % DAY


def traffic(times: np.ndarray, seed: int, day_spread: float = 0.05) -> np.ndarray:
    """Requests relative to a weekday's peak (about 1.0): quiet nights, office hours, a sharp
    peak of 0.6-1.5 h in the afternoon or evening, lighter weekends, and days that differ by a
    few percent (`day_spread`). Clock and peak hour are shifted per seed."""
    local = np.asarray(times, dtype=np.int64) + _shift(seed)
    second = (local % DAY).astype(np.float64)
    night = _between(seed, "traffic-night", 0.12, 0.30)
    office = _smoothstep((second - 7 * HOUR) / (2 * HOUR)) - _smoothstep((second - 19 * HOUR) / (3 * HOUR))
    peak_at = _peak_at(seed)
    width = _between(seed, "traffic-peak-width", 0.6, 1.5) * HOUR
    distance = (second - peak_at + DAY / 2) % DAY - DAY / 2
    peak = np.exp(-0.5 * (distance / width) ** 2)
    shape = (night + 0.45 * office + 0.55 * peak) / (night + 1.0)
    day = local // DAY
    weekend = np.where((day + 3) % 7 >= 5, _between(seed, "traffic-weekend", 0.55, 0.85), 1.0)
    # Day-to-day level: log-normal (`day_spread`), smoothed over midnight so a day never jumps.
    level = np.exp(day_spread * noise.smooth(seed, "traffic-day", local - DAY // 2, DAY))
    return shape * weekend * level


def service_noise(times: np.ndarray, seed: int, jitter: float = 0.005, wander: float = 0.01) -> np.ndarray:
    """Per-sample jitter plus a slow wander, as a share of the limit."""
    return (wander * noise.smooth(seed, "cycles/wander", times, 1800)
            + jitter * noise.normal(seed, "cycles/jitter", times))


class CrossingKind(Kind):
    """A failing kind made of cycles (see the module doc). Subclasses give `first_cycle`,
    `base` (the share outside any cycle) and `cycle` (the share during cycle `index`, begun
    at `begin`); `restarts` says whether a new cycle begins at each failure."""

    failing = True
    restarts = True

    def __init__(self):
        self._scans: dict = {}  # (start, seed) -> {"cycles": [(begin, failure or None)], "until": int}

    def first_cycle(self, start: int, seed: int) -> int:
        raise NotImplementedError

    def base(self, times: np.ndarray, start: int, seed: int) -> np.ndarray:
        raise NotImplementedError

    def cycle(self, times: np.ndarray, start: int, seed: int, index: int, begin: int) -> np.ndarray:
        raise NotImplementedError

    def _crossing(self, start, seed, index, begin, since, until) -> int | None:
        """The first second in [since, until) at which cycle `index` reaches the limit."""
        a = since
        while a < until:
            b = min(a + SCAN_CHUNK, until)
            t = np.arange(a, b, dtype=np.int64)
            hit = np.flatnonzero(self.cycle(t, start, seed, index, begin) >= 1.0)
            if hit.size:
                return int(t[hit[0]])
            a = b
        return None

    def cycles(self, start: int, seed: int, until: int) -> list[tuple[int, int | None]]:
        """(begin, failure) of every cycle that begins before `until`; failure None while none
        is found before `until`. Scans are kept and extended, so a live run that asks again
        with a later `until` only scans the new seconds."""
        state = self._scans.setdefault((start, seed), {"cycles": [], "until": None})
        if state["until"] is None or state["until"] < until:
            found = state["cycles"]
            since = None
            if not found:
                begin, index = self.first_cycle(start, seed), 0
            elif found[-1][1] is None:  # still open: scan on from where the last scan stopped
                begin, index, since = found[-1][0], len(found) - 1, state["until"]
                found.pop()
            elif self.restarts:
                begin, index = found[-1][1], len(found)
            else:
                begin = None
            while begin is not None and begin < until:
                failure = self._crossing(start, seed, index, begin, max(begin, since or begin), until)
                found.append((begin, failure))
                since = None
                if failure is None or not self.restarts:
                    break
                begin, index = failure, index + 1
            state["until"] = until
        return [(b, f if f is None or f < until else None) for b, f in state["cycles"] if b < until]

    def episodes(self, start, end, seed):
        return [(b, f) for b, f in self.cycles(start, seed, end) if f is not None]

    def share(self, times, start, seed):
        times = np.asarray(times, dtype=np.int64)
        out = np.array(self.base(times, start, seed), dtype=np.float64)
        if times.size == 0:
            return out
        for index, (begin, failure) in enumerate(self.cycles(start, seed, int(times.max()) + 1)):
            inside = (times >= begin) & (times < (failure if failure is not None else np.iinfo(np.int64).max))
            if inside.any():
                out[inside] = self.cycle(times[inside], start, seed, index, begin)
        return out
