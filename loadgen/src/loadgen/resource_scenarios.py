"""Resource curves for the exhaustion benchmark: failing and non-failing shapes of one series.

Each kind is a pure function of (times, start, seed) giving the used share of a limit, plus
the failure times (the series reaches the limit exactly there) and the time each leak that
leads to a failure began. Times need not be regular, so gaps and jitter (`irregular_times`)
give the same curve sampled unevenly.

Python API: `generate(kind, start, duration, step, seed, irregular=False)` returns a
`ResourceSeries`. The kinds are also loadgen scenarios (`loadgen list`, `loadgen csv`,
`loadgen run`), named `res-<kind>`, bending checkout's memory or db's filesystem.
"""

import numpy as np

from . import noise
from .conditions import DAY, HOUR, LOG_ROTATION_SECOND_OF_DAY
from .resource_families import FAMILY_KINDS, LeakUnderTraffic
from .resource_kind import (MINUTE, Kind, ResourceSeries, _baseline, _between, _toward_limit, _u,
                            business_day)

__all__ = ["KINDS", "IRREGULAR", "Kind", "ResourceSeries", "business_day", "generate", "irregular_times"]


class DailyWeeklyCycle(Kind):
    name = "daily-weekly-cycle"
    description = "memory follows office hours (steep morning ramp to ~80%) and is lower at weekends; never fails"

    def share(self, times, start, seed):
        return _baseline(times, seed, 0.40, 0.38)


class CacheSawtooth(Kind):
    name = "cache-sawtooth"
    description = "a cache fills from 45% to 85% over ~1.5-2.5 h and is evicted, over a GC sawtooth; never fails"

    def share(self, times, start, seed):
        period = int(_between(seed, "cache-period", 90, 150)) * MINUTE
        offset = int(_u(seed, "cache-offset") * period)
        phase = ((times - start + offset) % period) / period
        return _baseline(times, seed, 0.45, 0.0, gc=0.03) + 0.40 * phase


class LogRotation(Kind):
    name = "log-rotation"
    description = "logs fill a disk from 35% to ~75% through the day and are rotated away at 03:00 UTC; never fails"
    resource = "disk"

    def share(self, times, start, seed):
        since = ((times - LOG_ROTATION_SECOND_OF_DAY) % DAY) / DAY
        return _baseline(times, seed, 0.35, 0.03, gc=0.0) + 0.40 * since


class BatchFillFree(Kind):
    name = "batch-fill-free"
    description = "a nightly batch job writes scratch data from 40% to ~92% of a disk over ~2 h, then frees it; never fails"
    resource = "disk"

    def share(self, times, start, seed):
        base = _baseline(times, seed, 0.40, 0.0, gc=0.0)
        day = times // DAY
        first_day = start // DAY
        extra = np.zeros(times.shape)
        for d in range(int(first_day), int(np.max(times, initial=start) // DAY) + 1):
            begin = d * DAY + HOUR + int(_between(seed, "batch-begin", -20, 20, d - first_day)) * MINUTE
            fill = int(_between(seed, "batch-fill", 100, 140, d - first_day)) * MINUTE
            peak = _between(seed, "batch-peak", 0.46, 0.52, d - first_day)
            hold, free = 30 * MINUTE, 10 * MINUTE
            x = times - begin
            rising = np.clip(x / fill, 0.0, 1.0)
            falling = 1.0 - np.clip((x - fill - hold) / free, 0.0, 1.0)
            extra += np.where((day == d) | (day == d + 1), peak * np.minimum(rising, falling) * (x >= 0), 0.0)
        return base + extra


class DeploySteps(Kind):
    name = "deploy-steps"
    description = "memory settles at a new level (35-80%) after each of 2-3 daily deploys; never fails"

    def share(self, times, start, seed):
        deploys, levels = [start], [0.45]
        first_day = start // DAY
        for d in range(int(first_day), int(np.max(times, initial=start) // DAY) + 1):
            for k in range(3):
                i = (d - first_day) * 3 + k
                if k == 2 and _u(seed, "deploy-third", i) < 0.5:
                    continue
                deploys.append(d * DAY + 9 * HOUR + k * 3 * HOUR + int(_between(seed, "deploy-at", 0, 150, i)) * MINUTE)
                levels.append(_between(seed, "deploy-level", 0.35, 0.80, i))
        deploys, levels = np.array(deploys), np.array(levels)
        idx = np.clip(np.searchsorted(deploys, times, side="right") - 1, 0, None)
        prev = levels[np.clip(idx - 1, 0, None)]
        settle = 1.0 - np.exp(-(times - deploys[idx]) / (15 * MINUTE))
        level = np.where(idx == 0, levels[0], prev + (levels[idx] - prev) * settle)
        return _baseline(times, seed, 0.0, 0.06) + level


class AcceleratingLeak(Kind):
    name = "accelerating-leak"
    description = "a leak begins on day 2-4 and accelerates until the OOM kill 18-48 h later; the restart ends it"
    failing = True

    def episodes(self, start, end, seed):
        begin = start + int(_between(seed, "leak-begin", 1.0, 3.5) * DAY)
        fail = begin + int(_between(seed, "leak-length", 18, 48) * HOUR)
        return [(begin, fail)] if fail < end else []

    def share(self, times, start, seed):
        base = _baseline(times, seed, 0.35, 0.08)
        begin = start + int(_between(seed, "leak-begin", 1.0, 3.5) * DAY)
        fail = begin + int(_between(seed, "leak-length", 18, 48) * HOUR)
        p = np.clip((times - begin) / (fail - begin), 0.0, 1.0)
        k = 2.0  # rate at the end is e^k times the rate at the start
        grown = (np.exp(k * p) - 1.0) / (np.exp(k) - 1.0)
        return np.where(times >= fail, base, _toward_limit(base, grown))


class LeakStops(Kind):
    name = "leak-stops"
    description = "memory leaks for 12-30 h, stops at 70-85% and stays there until a restart; never fails"

    def share(self, times, start, seed):
        base = _baseline(times, seed, 0.35, 0.05)
        out = base.copy()
        for i in range(4):
            begin = start + int((0.5 + 2 * i) * DAY + _between(seed, "stop-begin", 0, 8, i) * HOUR)
            length = _between(seed, "stop-length", 12, 30, i) * HOUR
            stop = _between(seed, "stop-level", 0.55, 0.75, i)
            plateau = _between(seed, "stop-plateau", 6, 14, i) * HOUR
            x = times - begin
            p = stop * np.clip(x / length, 0.0, 1.0)
            on = (x >= 0) & (x < length + plateau)
            out = np.where(on, _toward_limit(base, p), out)
        return out


class OomRestarts(Kind):
    name = "oom-restarts"
    description = "leak, OOM kill at the limit every 10-20 h, restart at the base level and leak again"
    failing = True
    first_delay = 6 * HOUR

    def _cycles(self, start, seed, until):
        starts, ends = [], []
        moment = start + self.first_delay
        while moment < until:
            length = int(_between(seed, "oom-cycle", 10, 20, len(starts)) * HOUR)
            starts.append(moment)
            ends.append(moment + length)
            moment += length
        return starts, ends

    def episodes(self, start, end, seed):
        starts, ends = self._cycles(start, seed, end)
        return [(s, e) for s, e in zip(starts, ends) if e < end]

    def share(self, times, start, seed):
        base = _baseline(times, seed, 0.30, 0.05)
        starts, ends = self._cycles(start, seed, int(np.max(times, initial=start)) + 1)
        if not starts:
            return base
        s, e = np.array(starts), np.array(ends)
        idx = np.clip(np.searchsorted(s, times, side="right") - 1, 0, None)
        p = np.where(times >= s[0], np.clip((times - s[idx]) / (e[idx] - s[idx]), 0.0, 1.0), 0.0)
        grown = (p + 0.5 * p**2) / 1.5
        # At the kill itself the point is at the limit; the restarted process begins the next cycle.
        return _toward_limit(base, grown)


class DiskFillDaily(Kind):
    name = "disk-fill-daily"
    description = "a disk fills slowly over 4-6 days under a daily cycle and is full on day 5-7; cleaned up after"
    resource = "disk"
    failing = True

    def _times(self, start, seed):
        begin = start + int(_between(seed, "fill-begin", 0, 12) * HOUR)
        fail = start + int(_between(seed, "fill-full", 4.5, 6.5) * DAY)
        return begin, fail

    def episodes(self, start, end, seed):
        begin, fail = self._times(start, seed)
        return [(begin, fail)] if fail < end else []

    def share(self, times, start, seed):
        base = _baseline(times, seed, 0.30, 0.10, gc=0.0)
        begin, fail = self._times(start, seed)
        p = np.clip((times - begin) / (fail - begin), 0.0, 1.0)
        return np.where(times >= fail + HOUR, base, np.where(times >= fail, 1.0, _toward_limit(base, p)))


class Gappy(Kind):
    """Another kind's curve; `generate` samples it irregularly."""

    def __init__(self, inner: Kind):
        self.inner = inner
        self.name = f"gappy-{inner.name}"
        self.description = f"{inner.name} with missing rows, gaps of 5-90 min and +-20 s timestamp jitter"
        self.failing = inner.failing
        self.resource = inner.resource
        self.step, self.min_run_up, self.whole_units = inner.step, inner.min_run_up, inner.whole_units

    def first_time(self, start, seed):
        return self.inner.first_time(start, seed)

    def episodes(self, start, end, seed):
        return self.inner.episodes(start, end, seed)

    def share(self, times, start, seed):
        return self.inner.share(times, start, seed)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        DailyWeeklyCycle(), CacheSawtooth(), LogRotation(), BatchFillFree(), DeploySteps(),
        AcceleratingLeak(), LeakStops(), OomRestarts(), DiskFillDaily(),
        Gappy(AcceleratingLeak()), Gappy(DailyWeeklyCycle()),
        *FAMILY_KINDS, Gappy(LeakUnderTraffic()),
    )
}
IRREGULAR = {name for name in KINDS if name.startswith("gappy-")}


def irregular_times(start: int, duration: int, step: int, seed: int) -> np.ndarray:
    """Regular steps with +-20 s jitter, 3% of rows missing and gaps of 5-90 min (~1 per 12 h)."""
    grid = np.arange(start, start + duration, step, dtype=np.int64)
    jitter = np.round(20 * (2 * noise.uniform(seed, "irregular/jitter", grid) - 1)).astype(np.int64)
    keep = noise.uniform(seed, "irregular/drop", grid) >= 0.03
    hours = np.arange(start, start + duration, HOUR, dtype=np.int64)
    gap_starts = hours[noise.uniform(seed, "irregular/gap", hours) < 1 / 12]
    gap_lengths = (5 + 85 * noise.uniform(seed, "irregular/gap-length", gap_starts)) * MINUTE
    for g, length in zip(gap_starts, gap_lengths):
        keep &= ~((grid >= g) & (grid < g + length))
    keep[0] = True
    times = np.clip(grid + jitter, start, start + duration - 1)[keep]
    return np.unique(times)


def generate(kind: str, start: int, duration: int, step: int | None = None, seed: int = 1,
             irregular: bool | None = None) -> ResourceSeries:
    """The kind's series over [start, start + duration) (from its `first_time`, for a target that
    appears mid-run), sampled every `step` seconds (default: the kind's own): used and limit
    in bytes (connections for the pool), and its failures."""
    k = KINDS[kind]
    step = step or k.step
    if irregular is None:
        irregular = kind in IRREGULAR
    first = k.first_time(start, seed)
    if irregular:
        times = irregular_times(first, start + duration - first, step, seed)
    else:
        times = np.arange(first, start + duration, step, dtype=np.int64)
    share = k.share(times, start, seed)
    episodes = k.episodes(start, start + duration, seed)
    fails = np.array([f for _, f in episodes])
    # Before each failure the series stays below the limit; the sample at it (if any) is at it.
    share = np.minimum(share, 0.9995)
    if fails.size:
        share[np.isin(times, fails)] = 1.0
    limit = k.limit_bytes
    used = np.floor(share * limit) if k.whole_units else np.round(share * limit)
    return ResourceSeries(
        kind=kind, times=times, used=used, limit=np.full(times.shape, limit),
        failures=[int(f) for _, f in episodes], ramp_starts=[int(b) for b, _ in episodes], failing=k.failing,
        failures_after=[int(f) for _, f in k.episodes(start, start + duration + DAY, seed) if f >= start + duration],
    )
