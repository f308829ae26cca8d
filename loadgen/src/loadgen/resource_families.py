"""More resource kinds for the exhaustion benchmark: leaks under traffic whose daily peak
crosses the limit, pools driven by growing traffic, JVM-like GC sawtooth over a leak, disks
with rotation and a leak, accelerating and stepwise leaks with restarts, a fast leak after a
bad deploy; and shapes that never fail: a process that appears mid-run and warms up, a cache
that warms towards a plateau after each restart, a pool through one day of a traffic surge.
Bursts (heavy requests that hold memory for minutes) over a slow leak, where a burst's top
reaches the limit first, and over a steady level that never fails.

Failing kinds find their failures where the curve reaches the limit (resource_cycles).
"""

import numpy as np

from . import noise
from .conditions import DAY, HOUR
from .resource_cycles import CrossingKind, service_noise, traffic, traffic_peak_second
from .resource_kind import MINUTE, Kind, _between, _smoothstep, _u

__all__ = ["FAMILY_KINDS"]


def _gc(times: np.ndarray, seed: int, amplitude: float = 0.02) -> np.ndarray:
    """A short collector sawtooth (4-7 min), as in any managed runtime."""
    period = 240 + int(_u(seed, "families/gc-period") * 180)
    return amplitude * ((times % period) / period)


class LeakUnderTraffic(CrossingKind):
    name = "leak-under-traffic"
    description = ("memory follows traffic (sharp daily peak at 55-70%) and leaks from day 0.3-1.5; the day's peak "
                   "reaches the limit some 2-3 days later; the OOM-killed process restarts and leaks again")

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "lut-begin", 0.3, 1.5) * DAY)

    def _parts(self, seed):
        level = _between(seed, "lut-level", 0.22, 0.30)
        amplitude = _between(seed, "lut-amplitude", 0.30, 0.38)
        return level, amplitude

    def base(self, times, start, seed):
        level, amplitude = self._parts(seed)
        return level + amplitude * traffic(times, seed) + _gc(times, seed) + service_noise(times, seed)

    def cycle(self, times, start, seed, index, begin):
        level, amplitude = self._parts(seed)
        days_to_fill = _between(seed, "lut-days", 1.5, 3.0, index)
        rate = (1.0 - level - amplitude) / (days_to_fill * DAY)
        return self.base(times, start, seed) + rate * (times - begin)


class PoolTrafficGrowth(CrossingKind):
    name = "pool-traffic-growth"
    description = ("DB connections in use scale with traffic that grows 3-6% a day (multiplicative: the daily "
                   "peak grows with it); a weekday peak exhausts the pool by Friday; the service is then "
                   "scaled out and each pool carries 60% of the load")
    resource = "pool"
    step = 30
    whole_units = True

    def first_cycle(self, start, seed):
        return start

    def _demand(self, times, start, seed):
        growth = _between(seed, "ptg-growth", 0.03, 0.06)
        # Scaled so that the pool is exactly full at the traffic peak of day 3 or 4 (Thursday,
        # Friday); noise may fill it a peak or two earlier.
        day = start + int(_between(seed, "ptg-day", 3, 5)) * DAY
        grid = np.arange(day, day + DAY, MINUTE, dtype=np.int64)
        full = np.max(traffic(grid, seed, 0.02) * (1.0 + growth) ** ((grid - start) / DAY))
        return traffic(times, seed, 0.02) * (1.0 + growth) ** ((times - start) / DAY) / full

    def base(self, times, start, seed):
        return self.cycle(times, start, seed, 0, start)

    def cycle(self, times, start, seed, index, begin):
        pool = self._demand(times, start, seed) * 0.6 ** index
        # Connections come and go request by request: noise grows with the pool's use.
        return pool * (1.0 + 0.015 * noise.normal(seed, "ptg-noise", times)) + service_noise(times, seed, 0.0, 0.008)


class GcSawtoothLeak(CrossingKind):
    name = "gc-sawtooth-leak"
    description = ("a JVM-like heap: sawtooth of 15-25 min between collections (amplitude 25-35%) over a live "
                   "set that leaks from day 0.4-1.6; a tooth reaches the limit 1.5-3 days later; restart, leak again")
    step = 15

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "gcl-begin", 0.4, 1.6) * DAY)

    def _parts(self, seed):
        return _between(seed, "gcl-live", 0.20, 0.28), _between(seed, "gcl-amplitude", 0.25, 0.35)

    def _heap(self, times, seed, live, anchor):
        """Live set + traffic + the tooth: it climbs from the last collection (phase from `anchor`)."""
        period = int(_between(seed, "gcl-period", 15, 25) * MINUTE)
        phase = ((times - anchor) % period) / period
        _, amplitude = self._parts(seed)
        return live + 0.06 * traffic(times, seed) + amplitude * phase + service_noise(times, seed, 0.004, 0.006)

    def base(self, times, start, seed):
        live, _ = self._parts(seed)
        return self._heap(times, seed, live, start)

    def cycle(self, times, start, seed, index, begin):
        live, amplitude = self._parts(seed)
        days_to_fill = _between(seed, "gcl-days", 1.5, 3.0, index)
        rate = (1.0 - live - amplitude - 0.06) / (days_to_fill * DAY)
        # The first cycle is a leak inside the running process; later ones follow a restart.
        return self._heap(times, seed, live + rate * (times - begin), start if index == 0 else begin)


class DiskRotationLeak(CrossingKind):
    name = "disk-rotation-leak"
    description = ("logs fill a disk through the day and are rotated nightly (hour by seed); from day 0-1.5 a "
                   "file also grows steadily; the disk is full at a pre-rotation peak 2-4 days later; cleaned up")
    resource = "disk"
    restarts = False

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "drl-begin", 0.2, 1.5) * DAY)

    def _parts(self, seed):
        level = _between(seed, "drl-level", 0.28, 0.36)
        logs = _between(seed, "drl-logs", 0.18, 0.28)
        return level, logs

    def base(self, times, start, seed):
        level, logs = self._parts(seed)
        rotation = int(_between(seed, "drl-rotation", 0, 5) * HOUR)
        since = ((times - rotation) % DAY) / DAY
        return level + logs * since + service_noise(times, seed, 0.001, 0.003)

    def cycle(self, times, start, seed, index, begin):
        level, logs = self._parts(seed)
        rate = (1.0 - level - logs) / (_between(seed, "drl-days", 2.0, 4.0) * DAY)
        return self.base(times, start, seed) + rate * (times - begin)


class AcceleratingLeakRestarts(CrossingKind):
    name = "accelerating-leak-restarts"
    description = ("from day 0.3-1.5 each process leaks faster and faster (rate x12 over its life) and is "
                   "OOM-killed after 20-40 h; the restarted process does the same")

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "alr-begin", 0.3, 1.5) * DAY)

    def base(self, times, start, seed):
        return 0.28 + 0.12 * traffic(times, seed) + _gc(times, seed) + service_noise(times, seed)

    def cycle(self, times, start, seed, index, begin):
        life = _between(seed, "alr-life", 20, 40, index) * HOUR
        k = 2.5
        grown = (np.exp(k * (times - begin) / life) - 1.0) / (np.exp(k) - 1.0)
        return self.base(times, start, seed) + 0.72 * grown


class StaircaseLeak(CrossingKind):
    name = "staircase-leak"
    description = ("from day 0.5-2 memory leaks in steps (2.5-6% every 0.7-3 h, as failed requests pin buffers) "
                   "until the limit; the restarted process does the same")

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "stair-begin", 0.5, 2.0) * DAY)

    def base(self, times, start, seed):
        return 0.30 + 0.10 * traffic(times, seed) + _gc(times, seed) + service_noise(times, seed)

    def cycle(self, times, start, seed, index, begin):
        out = self.base(times, start, seed)
        at = 0.0
        for j in range(40):
            at += _between(seed, f"stair-gap-{index}", 0.7, 3.0, j) * HOUR
            size = _between(seed, f"stair-size-{index}", 0.025, 0.06, j)
            out = out + size * _smoothstep((times - begin - at) / (2 * MINUTE))
        return out


class FastLeak(CrossingKind):
    name = "fast-leak"
    description = ("a bad deploy on Tuesday-Thursday (08-16 UTC) leaks fast: memory reaches the limit "
                   "2-5 h later; rolled back after the OOM kill")
    restarts = False
    min_run_up = 1.5 * HOUR

    def first_cycle(self, start, seed):
        day = int(_between(seed, "fast-day", 1, 4))
        return start + day * DAY + int(_between(seed, "fast-hour", 8, 16) * HOUR)

    def base(self, times, start, seed):
        return 0.32 + 0.10 * traffic(times, seed) + _gc(times, seed) + service_noise(times, seed)

    def cycle(self, times, start, seed, index, begin):
        life = _between(seed, "fast-life", 2, 5) * HOUR
        x = np.clip((times - begin) / life, 0.0, None)
        return self.base(times, start, seed) + 0.62 * x ** 1.3


class StartupRamp(Kind):
    name = "startup-ramp"
    description = ("a process that starts mid-run (day 1.5-4.5): 5% to 35-45% in 10-20 min while it warms up, "
                   "then flat under light traffic; never fails")

    def first_time(self, start, seed):
        return start + int(_between(seed, "startup-at", 1.5, 4.5) * DAY)

    def share(self, times, start, seed):
        times = np.asarray(times, dtype=np.int64)
        began = self.first_time(start, seed)
        level = _between(seed, "startup-level", 0.35, 0.45)
        ramp = _between(seed, "startup-ramp", 10, 20) * MINUTE
        warm = _smoothstep((times - began) / ramp)
        after = 0.05 * traffic(times, seed) + _gc(times, seed, 0.015) + service_noise(times, seed, 0.004, 0.006)
        return 0.05 + (level - 0.05) * warm + warm * after


class CacheWarmupPlateau(Kind):
    name = "cache-warmup-plateau"
    description = ("after each of 2 restarts a cache warms: memory rises from 15% towards a 72-82% plateau "
                   "(time constant 3-8 h) and levels off; never fails")

    def share(self, times, start, seed):
        times = np.asarray(times, dtype=np.int64)
        plateau = _between(seed, "warm-plateau", 0.72, 0.82)
        first = start + int(_between(seed, "warm-first", 0.3, 1.5) * DAY)
        second = first + int(_between(seed, "warm-second", 2.0, 3.5) * DAY)
        since = np.where(times >= second, times - second, np.where(times >= first, times - first, 10 * DAY))
        tau = np.where(times >= second, _between(seed, "warm-tau", 3, 8, 1), _between(seed, "warm-tau", 3, 8, 0)) * HOUR
        cache = 0.15 + (plateau - 0.15) * (1.0 - np.exp(-since / tau))
        return cache + 0.06 * traffic(times, seed) + _gc(times, seed) + service_noise(times, seed)


class PoolTrafficBurst(Kind):
    name = "pool-traffic-burst"
    description = ("DB connections follow traffic (daily peak 40-55%); one weekday a surge lifts traffic for "
                   "4-8 h so the pool peaks near 85%, then it falls back; never fails")
    resource = "pool"
    whole_units = True

    def share(self, times, start, seed):
        times = np.asarray(times, dtype=np.int64)
        peak = _between(seed, "burst-peak", 0.40, 0.55)
        length = _between(seed, "burst-length", 4, 8) * HOUR
        # The surge spans the day's traffic peak (it would go unnoticed in a quiet hour).
        begin = (start // DAY + int(_between(seed, "burst-day", 1, 4))) * DAY + traffic_peak_second(seed) - int(
            _between(seed, "burst-lead", 0.3, 0.7) * length)
        edge = 45 * MINUTE
        surge = _smoothstep((times - begin) / edge) - _smoothstep((times - begin - length) / edge)
        lift = 0.85 / (peak * 1.1) - 1.0
        pool = peak * traffic(times, seed) * (1.0 + lift * surge)
        return pool * (1.0 + 0.02 * noise.normal(seed, "burst-noise", times)) + service_noise(times, seed, 0.0, 0.008)


BURST_SLOT = 10 * MINUTE  # at most one burst begins in each slot of this length
BURST_SLOTS_BACK = 4  # a burst's hold and release end within this many slots of its slot


def bursts(times: np.ndarray, seed: int, per_hour: float, median_height: float, cap: float) -> np.ndarray:
    """Heavy requests or report queries that hold memory for minutes: a burst begins in a
    10-minute slot with probability per_hour / 6, at a random second of it; it rises within
    30 s, holds 3-12 min and is released with a 2-minute time constant. Heights are
    log-normal about `median_height` (spread 0.35), at most `cap`. A pure function of the
    unix second, like every curve here."""
    times = np.asarray(times, dtype=np.int64)
    out = np.zeros(times.size)
    chance = per_hour * BURST_SLOT / HOUR
    for back in range(BURST_SLOTS_BACK + 1):
        slot = times // BURST_SLOT - back
        happens = noise.uniform(seed, "bursts/happens", slot) < chance
        if not happens.any():
            continue
        slot, at = slot[happens], times[happens]
        begin = slot * BURST_SLOT + (noise.uniform(seed, "bursts/offset", slot) * BURST_SLOT).astype(np.int64)
        hold = (3 + 9 * noise.uniform(seed, "bursts/hold", slot)) * MINUTE
        height = np.minimum(median_height * np.exp(0.35 * noise.normal(seed, "bursts/height", slot)), cap)
        since = (at - begin).astype(np.float64)
        rise = np.clip(since / 30.0, 0.0, 1.0)
        release = np.where(since > hold, np.exp(-(since - hold) / (2 * MINUTE)), 1.0)
        out[happens] += np.where(since >= 0, height * rise * release, 0.0)
    return out


class LeakUnderBursts(CrossingKind):
    name = "leak-under-bursts"
    description = ("memory at 30-40% with bursts (0.6-1.5 an hour, median height 6-9%, at most 20%, held "
                   "3-12 min) leaks slowly from day 0.3-1.5; the top of a burst reaches the limit first, "
                   "some 3-5 days later; the OOM-killed process restarts and leaks again")
    step = 30

    def first_cycle(self, start, seed):
        return start + int(_between(seed, "lub-begin", 0.3, 1.5) * DAY)

    def _level(self, seed):
        return _between(seed, "lub-level", 0.30, 0.40)

    def base(self, times, start, seed):
        load = bursts(times, seed, _between(seed, "lub-rate", 0.6, 1.5), _between(seed, "lub-height", 0.06, 0.09), 0.20)
        return self._level(seed) + 0.06 * traffic(times, seed) + load + _gc(times, seed) + service_noise(times, seed)

    def cycle(self, times, start, seed, index, begin):
        days_to_fill = _between(seed, "lub-days", 3.0, 5.0, index)
        rate = (1.0 - self._level(seed) - 0.06) / (days_to_fill * DAY)
        return self.base(times, start, seed) + rate * (times - begin)


class SteadyBursts(Kind):
    name = "steady-bursts"
    description = ("memory at 55-62% under daily traffic with bursts (0.6-1.5 an hour, median height 8-12%, "
                   "at most 25%) whose tops reach 80-95% several times a day, without a leak; never fails")
    step = 30

    def share(self, times, start, seed):
        times = np.asarray(times, dtype=np.int64)
        level = _between(seed, "sb-level", 0.55, 0.62)
        load = bursts(times, seed, _between(seed, "sb-rate", 0.6, 1.5), _between(seed, "sb-height", 0.08, 0.12), 0.25)
        return level + 0.04 * traffic(times, seed) + load + _gc(times, seed) + service_noise(times, seed)


FAMILY_KINDS: list[Kind] = [
    LeakUnderTraffic(), PoolTrafficGrowth(), GcSawtoothLeak(), DiskRotationLeak(), AcceleratingLeakRestarts(),
    StaircaseLeak(), FastLeak(), StartupRamp(), CacheWarmupPlateau(), PoolTrafficBurst(), LeakUnderBursts(),
    SteadyBursts(),
]
