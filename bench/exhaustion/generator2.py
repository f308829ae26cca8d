"""A second, independent generator of resource series for the exhaustion benchmark.

Written apart from loadgen's resource kinds (loadgen/src/loadgen/resource_scenarios.py),
with other shape functions, noise and periods, so that defaults tuned on loadgen's suite
can be judged on shapes they were not tuned on. It shares nothing with loadgen but the
output form (times, used, limit, failures, ramp starts).

- Traffic: two Gaussian peaks a day (morning and evening, at a per-series hour offset),
  a per-series weekend factor, day-to-day amplitude drawn from a log-normal.
- Noise: AR(1) with a per-series memory, plus rare Student-t bursts.
- Sampling: 15 s, 30 s or 60 s by seed, with a few dropped scrapes.
- A failure is the first sample at or above the limit. After it the family's own
  recovery applies: a restart (memory), a cleanup (disk), or a bigger pool (connections).

Families (`g2-<name>`; `failing` ones have at least one failure in a week):
leak-under-traffic, pool-traffic-growth, gc-sawtooth-leak, disk-rotation-leak,
accelerating-leak-restarts, bursty-leak, step-then-leak (failing); seasonal,
nightly-batch, deploy-steps, leak-plateau, startup-ramp (never failing).
"""
import zlib
from dataclasses import dataclass, field

import numpy as np

DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0


@dataclass
class Series:
    kind: str
    times: np.ndarray
    used: np.ndarray
    limit: np.ndarray
    failures: list = field(default_factory=list)
    ramp_starts: list = field(default_factory=list)
    failing: bool = False
    failures_after: list = field(default_factory=list)


def _rng(family: str, seed: int, stream: str = "") -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(f"{family}/{stream}".encode()), seed])


def _times(start: int, duration: int, seed: int, family: str) -> np.ndarray:
    step = (15, 30, 60)[seed % 3]
    t = np.arange(start, start + duration, step, dtype=np.float64)
    keep = _rng(family, seed, "drops").random(t.size) > 0.005  # a few missed scrapes
    return t[keep]


def traffic(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Relative load in about [0.15, 1.2]: two daily peaks, quieter weekends, uneven days."""
    offset = rng.uniform(-4, 4) * HOUR
    hour = ((t + offset) % DAY) / HOUR
    morning, evening = rng.uniform(9.5, 11.5), rng.uniform(19, 21.5)
    shape = 0.15 + 0.85 * np.exp(-0.5 * ((hour - morning) / 1.6) ** 2) + 0.7 * np.exp(-0.5 * ((hour - evening) / 1.2) ** 2)
    day = np.floor((t + offset) / DAY).astype(np.int64)
    days = np.unique(day)
    amplitude = dict(zip(days.tolist(), rng.lognormal(0.0, 0.08, days.size).tolist()))
    weekend = np.isin((day + 3) % 7, (5, 6))
    factor = np.where(weekend, rng.uniform(0.35, 0.8), 1.0)
    return shape * factor * np.array([amplitude[d] for d in day.tolist()])


def ar1(n: int, rng: np.random.Generator, sd: float) -> np.ndarray:
    """AR(1) noise with a per-series memory, plus rare heavy-tailed bursts."""
    phi = rng.uniform(0.85, 0.98)
    shocks = rng.normal(0.0, sd * np.sqrt(1 - phi ** 2), n)
    out = np.empty(n)
    level = 0.0
    for i in range(n):
        level = phi * level + shocks[i]
        out[i] = level
    bursts = rng.random(n) < 0.002
    out[bursts] += np.minimum(np.abs(rng.standard_t(3, bursts.sum())), 5.0) * sd * 2
    return out


def _first_crossing(used: np.ndarray, limit: np.ndarray, since: int = 0) -> int | None:
    hit = np.flatnonzero(used[since:] >= limit[since:])
    return since + int(hit[0]) if hit.size else None


# -- failing families -------------------------------------------------------------------

def leak_under_traffic(t, seed, family):
    """Memory: a base, a part that follows traffic, and a leak from a random hour of day 1;
    the limit is first reached at a daily peak. An OOM kill restarts the process (and the
    leak begins again a few hours later)."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 4 * 2 ** 30)
    load = traffic(t, rng)
    base = rng.uniform(0.25, 0.35) + rng.uniform(0.2, 0.3) * load
    noise = ar1(t.size, rng, 0.008)
    leak_start = t[0] + rng.uniform(0.6, 1.6) * DAY
    rate = rng.uniform(0.10, 0.18) / DAY  # share of the limit per second
    used = np.empty(t.size)
    failures, ramps = [], []
    origin = leak_start
    i = 0
    while i < t.size:
        share = base[i:] + noise[i:] + np.clip(t[i:] - origin, 0, None) * rate
        part = share * limit[0]
        cross = _first_crossing(part, limit[i:])
        if cross is None:
            used[i:] = part
            break
        used[i:i + cross] = part[:cross]
        used[i + cross] = limit[0]
        failures.append(int(t[i + cross]))
        ramps.append(int(origin))
        i += cross + 1
        origin = t[i - 1] + rng.uniform(2, 6) * HOUR
    return np.minimum(used, limit), limit, failures, ramps


def pool_traffic_growth(t, seed, family):
    """DB connections in use, driven by traffic that grows a few percent a day, with sharp
    peaks; the pool saturates at a peak. The operator then raises the pool by 30%."""
    rng = _rng(family, seed)
    size = float(rng.choice([50, 100, 200]))
    load = traffic(t, rng) ** 1.5  # sharper peaks than the traffic itself
    growth = (1 + rng.uniform(0.06, 0.1)) ** ((t - t[0]) / DAY)
    demand = size * rng.uniform(0.68, 0.78) * load * growth * (1 + ar1(t.size, rng, 0.04))
    demand = np.maximum(np.round(demand), 1)
    limit = np.full(t.size, size)
    failures, ramps = [], []
    cross = _first_crossing(demand, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(t[0]))  # the growth is there from the start
        limit[cross + 1:] = np.round(size * 1.3)
        again = _first_crossing(demand, limit, cross + 1)
        if again is not None:
            failures.append(int(t[again]))
            ramps.append(int(t[cross]))
            limit[again + 1:] = np.round(size * 1.3 * 1.3)
    return np.minimum(demand, limit), limit, failures, ramps


def gc_sawtooth_leak(t, seed, family):
    """A JVM-like heap: a garbage-collection sawtooth of 15-25 minutes over a floor that
    leaks slowly; the limit is reached at the top of a tooth."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 2 * 2 ** 30)
    period = rng.uniform(15, 25) * MINUTE
    phase = (t - t[0]) % period / period
    tooth = rng.uniform(0.15, 0.25) * phase
    floor0 = rng.uniform(0.35, 0.45)
    rate = rng.uniform(0.09, 0.14) / DAY
    leak_start = t[0] + rng.uniform(0.3, 1.0) * DAY
    share = floor0 + tooth + np.clip(t - leak_start, 0, None) * rate + ar1(t.size, rng, 0.004)
    used = share * limit[0]
    failures, ramps = [], []
    cross = _first_crossing(used, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(leak_start))
        used[cross] = limit[0]
        after = t[cross + 1:] - t[cross]
        used[cross + 1:] = (floor0 + rng.uniform(0.15, 0.25) * (after % period / period)) * limit[0]
    return np.minimum(used, limit), limit, failures, ramps


def disk_rotation_leak(t, seed, family):
    """A disk: logs grow by day and are rotated every night at a per-host hour (freeing most
    of them), while retained data grows steadily; the disk fills in the last days."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 500e9)
    rotate_hour = rng.uniform(0, 4)
    day_start = np.floor((t - rotate_hour * HOUR) / DAY)
    since_rotation = (t - rotate_hour * HOUR) - day_start * DAY
    logs = rng.uniform(0.06, 0.12) * since_rotation / DAY
    retained0 = rng.uniform(0.55, 0.62)
    rate = rng.uniform(0.065, 0.09) / DAY
    share = retained0 + (t - t[0]) * rate + logs + ar1(t.size, rng, 0.001)
    used = share * limit[0]
    failures, ramps = [], []
    cross = _first_crossing(used, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(t[0]))
        used[cross] = limit[0]
        used[cross + 1:] = used[cross + 1:] - 0.3 * limit[0]  # an emergency cleanup
    return np.minimum(used, limit), limit, failures, ramps


def accelerating_leak_restarts(t, seed, family):
    """A leak that accelerates (exponential), with restarts at deploys that set it back
    part of the way; it reaches the limit late in the week."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 8 * 2 ** 30)
    start = t[0] + rng.uniform(0.5, 1.5) * DAY
    tau = rng.uniform(1.1, 1.6) * DAY
    amount = rng.uniform(0.05, 0.07)
    deploys = np.sort(rng.uniform(t[0] + DAY, t[0] + 4.5 * DAY, 2))
    age = np.clip(t - start, 0, None)
    for d in deploys:
        age = np.where(t >= d, np.clip(t - d + 0.5 * (d - start), 0, None), age)
    share = 0.3 + amount * (np.exp(age / tau) - 1) + ar1(t.size, rng, 0.006)
    used = share * limit[0]
    failures, ramps = [], []
    cross = _first_crossing(used, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(max(start, deploys[-1] if deploys[-1] < t[cross] else start)))
        used[cross] = limit[0]
        used[cross + 1:] = 0.3 * limit[0] + ar1(t.size - cross - 1, rng, 0.006) * limit[0]
    return np.minimum(used, limit), limit, failures, ramps


def bursty_leak(t, seed, family):
    """A slow linear leak under frequent bursts: minutes-long spikes of up to +15%."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 1e6)
    spikes = np.zeros(t.size)
    for c in rng.uniform(t[0], t[-1], int((t[-1] - t[0]) / HOUR * 1.5)):
        width = rng.uniform(2, 10) * MINUTE
        spikes += rng.uniform(0.03, 0.15) * np.exp(-0.5 * ((t - c) / width) ** 2)
    rate = rng.uniform(0.07, 0.1) / DAY
    share = rng.uniform(0.3, 0.4) + (t - t[0]) * rate + spikes + ar1(t.size, rng, 0.01)
    used = share * limit[0]
    failures, ramps = [], []
    cross = _first_crossing(used, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(t[0]))
        used[cross + 1:] = used[cross + 1:] - 0.5 * limit[0]  # restarted
    return np.minimum(used, limit), limit, failures, ramps


def step_then_leak(t, seed, family):
    """A deploy steps memory up, and the new version leaks from then on."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 3 * 2 ** 30)
    deploy = t[0] + rng.uniform(2, 3) * DAY
    rate = rng.uniform(0.15, 0.25) / DAY
    share = (0.35 + np.where(t >= deploy, rng.uniform(0.1, 0.15), 0.0)
             + np.clip(t - deploy, 0, None) * rate + ar1(t.size, rng, 0.006))
    used = share * limit[0]
    failures, ramps = [], []
    cross = _first_crossing(used, limit)
    if cross is not None:
        failures.append(int(t[cross]))
        ramps.append(int(deploy))
        used[cross + 1:] = 0.35 * limit[0]
    return np.minimum(used, limit), limit, failures, ramps


# -- never failing ----------------------------------------------------------------------

def seasonal(t, seed, family):
    """Strong daily and weekly load whose peaks reach 75-90% of the limit, every day."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 100.0)
    load = traffic(t, rng)
    peak = rng.uniform(0.75, 0.88)
    share = 0.1 + (peak - 0.1) * load / 1.25 + ar1(t.size, rng, 0.01)
    return np.clip(share, 0, 0.97) * limit, limit, [], []


def nightly_batch(t, seed, family):
    """A nightly batch job fills scratch space to 85-95% within an hour or two, then frees it."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 200e9)
    hour = rng.uniform(0, 5)
    top = rng.uniform(0.85, 0.95)
    run = rng.uniform(1, 2.5) * HOUR
    since = (t - hour * HOUR) % DAY
    filling = np.clip(since / run, 0, 1) * (since < run + 20 * MINUTE)
    share = 0.2 + (top - 0.2) * filling + ar1(t.size, rng, 0.003)
    return np.clip(share, 0, 0.97) * limit, limit, [], []


def deploy_steps(t, seed, family):
    """Deploys move memory up or down by 5-15% a few times a week; it stays below 80%."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 4 * 2 ** 30)
    level = np.full(t.size, rng.uniform(0.35, 0.45))
    for d in np.sort(rng.uniform(t[0], t[-1], 5)):
        step = rng.uniform(0.05, 0.15) * rng.choice([-1, 1])
        level = np.where(t >= d, np.clip(level + step, 0.2, 0.78), level)
    share = level + ar1(t.size, rng, 0.01)
    return np.clip(share, 0, 0.97) * limit, limit, [], []


def leak_plateau(t, seed, family):
    """A cache warms for 6-20 hours after each restart, then levels off at 70-88%."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 16 * 2 ** 30)
    restarts = np.concatenate([[t[0]], np.sort(rng.uniform(t[0] + DAY, t[-1], 2))])
    since = t - restarts[np.searchsorted(restarts, t, side="right") - 1]
    warm = rng.uniform(6, 20) * HOUR
    top = rng.uniform(0.7, 0.88)
    share = 0.15 + (top - 0.15) * (1 - np.exp(-since / (warm / 3))) + ar1(t.size, rng, 0.006)
    return np.clip(share, 0, 0.97) * limit, limit, [], []


def startup_ramp(t, seed, family):
    """A process that starts mid-week: memory ramps from 5% to 40-60% in 10-30 minutes and
    then holds; restarted once more later with the same ramp."""
    rng = _rng(family, seed)
    limit = np.full(t.size, 8 * 2 ** 30)
    begin = t[0] + rng.uniform(2, 3) * DAY
    keep = t >= begin
    t = t[keep]
    limit = limit[keep]
    restarts = np.array([begin, begin + rng.uniform(1, 2) * DAY])
    since = t - restarts[np.searchsorted(restarts, t, side="right") - 1]
    ramp = rng.uniform(10, 30) * MINUTE
    top = rng.uniform(0.4, 0.6)
    share = 0.05 + (top - 0.05) * np.clip(since / ramp, 0, 1) ** rng.uniform(0.6, 1.5) + ar1(t.size, rng, 0.005)
    return t, np.clip(share, 0, 0.97) * limit, limit, [], []


FAMILIES = {
    "leak-under-traffic": (leak_under_traffic, True),
    "pool-traffic-growth": (pool_traffic_growth, True),
    "gc-sawtooth-leak": (gc_sawtooth_leak, True),
    "disk-rotation-leak": (disk_rotation_leak, True),
    "accelerating-leak-restarts": (accelerating_leak_restarts, True),
    "bursty-leak": (bursty_leak, True),
    "step-then-leak": (step_then_leak, True),
    "seasonal": (seasonal, False),
    "nightly-batch": (nightly_batch, False),
    "deploy-steps": (deploy_steps, False),
    "leak-plateau": (leak_plateau, False),
    "startup-ramp": (startup_ramp, False),
}


def generate(family: str, start: int, duration: int, seed: int) -> Series:
    """One series of `family` over [start, start + duration). A day more is generated so
    that failures just after the end are known (an alert at the end is judged by them)."""
    function, failing = FAMILIES[family]
    t = _times(start, duration + int(DAY), seed, family)
    result = function(t, seed, f"g2-{family}")
    if len(result) == 5:  # families that start late return their own times
        t, *result = result
    used, limit, failures, ramps = result
    end = start + duration
    keep = t < end
    inside = [(f, r) for f, r in zip(failures, ramps) if f < end]
    if failing and not inside:
        raise AssertionError(f"g2-{family} seed {seed}: no failure within the series; fix the generator")
    return Series(kind=f"g2-{family}", times=t[keep].astype(np.int64), used=np.round(used[keep]),
                  limit=np.round(limit[keep]), failures=[f for f, _ in inside], ramp_starts=[r for _, r in inside],
                  failing=failing, failures_after=[f for f in failures if f >= end])
