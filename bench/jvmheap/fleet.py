"""JVM heaps after collection: a fleet of Java services as the OpenTelemetry Java agent
reports them (semantic-convention names, as Prometheus shows them), for three days.

Three services, each a Deployment whose pods come and go (a rolling update every 8-14 h
gives every pod a new name, so few targets grow old):
- `orders`: G1, 4 GiB heap, 6 replicas. The old generation's figure after collection
  (`jvm_memory_used_after_last_gc_bytes{jvm_memory_pool_name="G1 Old Gen"}`) moves at
  each mixed collection, 10-90 minutes apart and more often under the day's load;
- `billing`: the parallel collector, 2 GiB, 3 replicas: "PS Old Gen" moves only at a full
  collection, 1-4 h apart;
- `search`: generational ZGC, 8 GiB, 3 replicas: "ZGC Old Generation" moves every few
  minutes.
Each JVM's live set is a share of its heap (15-55%) that swings with the day's traffic,
what a collection leaves is that plus some floating garbage (0-5% of the heap), and a JVM
warms up after it starts (caches filling, time constant 10-40 min). Every night at 02:00
`orders` reloads a cache: old and new copies are both live for about an hour (10-20% of
the heap more), then the old one goes. The agent exports every 60 s. Young pools (Eden,
survivor) are sent too; only the old generation has a `jvm_memory_limit_bytes` here, as
under G1 (the agent sends none for a pool without a maximum).

In a leak run one pod leaks after its warm-up, linearly or faster by day than by night
(a cache keyed by request), until its live set is 97% of the heap: the JVM dies with an
OutOfMemoryError and starts again in the same pod (the figures start from zero), and
leaks again. Nothing else fails.

A held-out generator for the `jvm-heap` predictor of predictors/config/examples/
otel-semconv.yaml: written before any result of it was seen, after the change it
measures (fitting a staircase on its updates) was made on the unit tests' staircases.
Everything follows from (seed, leak).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from foresight.contracts.points import GAUGE, Point

EXPORT, MIN, HOUR, DAY = 60.0, 60.0, 3600.0, 86400.0
GIB = 2.0 ** 30
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
OOM_AT = 0.97  # live share of the heap at which the JVM dies
# service: (collector's old pool, young pools, heap, replicas, minutes between old collections (low, high))
SERVICES = {
    "orders": ("G1 Old Gen", ("G1 Eden Space", "G1 Survivor Space"), 4 * GIB, 6, (10, 90)),
    "billing": ("PS Old Gen", ("PS Eden Space", "PS Survivor Space"), 2 * GIB, 3, (60, 240)),
    "search": ("ZGC Old Generation", ("ZGC Young Generation",), 8 * GIB, 3, (2, 6)),
}


@dataclass
class Jvm:
    service: str
    pod: str
    start: float
    end: float
    share: float  # live share of the heap at the day's mean load
    swing: float  # how much of it moves with the day's load
    tau: float  # warm-up time constant, s
    leak_from: float | None = None
    leak_rate: float = 0.0  # share of the heap per second (at the day's mean load)
    by_day: bool = False  # the leak follows the day's load
    deaths: list = field(default_factory=list)  # OutOfMemoryError times


@dataclass
class Run:
    seed: int
    leak: bool
    end: float
    jvms: list
    leaking: str | None = None  # the leaking pod
    oom: float | None = None  # its first OutOfMemoryError

    @property
    def name(self) -> str:
        return f"{'leak' if self.leak else 'healthy'}-s{self.seed}"


def load(t):
    """The day's traffic, 1 at its mean: low at night, a peak in the afternoon."""
    return 1.0 + 0.5 * np.sin(2 * np.pi * ((np.asarray(t) / HOUR - 9.0) % 24) / 24)


def _jvm(rng, service: str, start: float, end: float, template: str) -> Jvm:
    suffix = "".join(rng.choice(list("bcdfghjklmnpqrstvwxz2456789"), 5))
    return Jvm(service, f"{service}-{template}-{suffix}", start, end, share=rng.uniform(0.15, 0.55),
               swing=rng.uniform(0.0, 0.3), tau=rng.uniform(10, 40) * MIN)


def fleet(seed: int, leak: bool, days: float = 3.0) -> Run:
    rng = np.random.default_rng([int(seed), 31, int(leak)])
    end = START + days * DAY
    jvms = []
    for service, (_, _, _, replicas, _) in SERVICES.items():
        template = f"{int(rng.integers(16**9, 16**10)):010x}"
        live = [_jvm(rng, service, START - rng.uniform(0, 1800), end, template) for _ in range(replicas)]
        jvms += live
        update = START + rng.uniform(8, 14) * HOUR
        while update < end:
            template = f"{int(rng.integers(16**9, 16**10)):010x}"
            for i in range(replicas):
                at = update + i * rng.uniform(2, 4) * MIN
                live[i].end = at + 30.0
                live[i] = _jvm(rng, service, at, end, template)
                jvms.append(live[i])
            update += rng.uniform(8, 14) * HOUR
    run = Run(int(seed), leak, end, jvms)
    if leak:
        candidates = [j for j in jvms if j.end - j.start > 6 * HOUR]
        victim = candidates[int(rng.integers(len(candidates)))]
        victim.leak_from = victim.start + rng.uniform(0.5, 2) * HOUR
        victim.by_day = bool(rng.integers(2))
        to_oom = rng.uniform(0.3, 0.8) * (victim.end - victim.leak_from)
        victim.leak_rate = (OOM_AT - victim.share) / to_oom
        run.leaking = victim.pod
        live_share(victim, np.arange(victim.start, victim.end, EXPORT))  # marks its deaths
        run.oom = victim.deaths[0] if victim.deaths else None
    return run


def live_share(jvm: Jvm, t: np.ndarray) -> np.ndarray:
    """The JVM's live set as a share of its heap at times `t` (sorted); an OutOfMemoryError
    restarts it (warm-up again, the leak again) and is recorded in `jvm.deaths`."""
    out, since, k, deaths = np.zeros(t.size), jvm.start, 0, []
    while k < t.size:
        tt = t[k:]
        age = tt - since
        v = jvm.share * (1 - jvm.swing + jvm.swing * load(tt)) * (1 - np.exp(-age / jvm.tau))
        if jvm.service == "orders":  # the nightly cache reload: both copies live for about an hour
            v = v + 0.15 * ((tt / HOUR - 2.0) % 24 < 1.0) * (age > HOUR)
        if jvm.leak_from is not None:
            leaking = np.maximum(tt - max(jvm.leak_from, since + HOUR), 0.0)
            if jvm.by_day:  # faster by day: the integral of the load
                base = max(jvm.leak_from, since + HOUR)
                leaking = np.where(tt > base, leaking + 0.5 * 24 * HOUR / (2 * np.pi) * (
                    np.cos(2 * np.pi * ((base / HOUR - 9) % 24) / 24) - np.cos(2 * np.pi * ((tt / HOUR - 9) % 24) / 24)), 0.0)
            v = v + jvm.leak_rate * leaking
        over = np.nonzero(v >= OOM_AT)[0]
        stop = over[0] if over.size else v.size
        out[k:k + stop] = v[:stop]
        if not over.size:
            break
        deaths.append(float(t[k + stop]))
        out[k + stop] = OOM_AT
        since, k = float(t[k + stop]) + 30.0, k + stop + 1
    jvm.deaths = deaths
    return out


def _collections(rng, jvm: Jvm, minutes: tuple, t: np.ndarray) -> np.ndarray:
    """For each time in `t`, the time of the old generation's last collection (-inf before
    the first): gaps drawn between `minutes`, shorter under load; every death starts over."""
    times, now = [], jvm.start
    low, high = minutes
    starts = [jvm.start] + [d + 30.0 for d in jvm.deaths]
    for i, begin in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else jvm.end
        now = begin + rng.uniform(low, high) * MIN
        while now < stop:
            times.append(now)
            now += rng.uniform(low, high) * MIN / float(load(now))
    times = np.asarray(times)
    if not times.size:  # a pod gone before its first collection
        return np.full(t.size, -np.inf)
    idx = np.searchsorted(times, t, side="right") - 1
    last = np.where(idx >= 0, times[np.clip(idx, 0, None)], -np.inf)
    restarted = np.asarray([max([s for s in starts if s <= x], default=jvm.start) for x in t])
    return np.where(last >= restarted, last, -np.inf)


def exports(run: Run):
    """(end of the export, points) every 60 s: each live JVM's heap pools after the last
    collection and in use, and its old generation's maximum."""
    rng = np.random.default_rng([run.seed, 32, int(run.leak)])
    series = []
    for jvm in run.jvms:
        old, young, heap, _, minutes = SERVICES[jvm.service]
        t = np.arange(jvm.start, jvm.end, EXPORT)
        t = t[(t >= START) & (t < run.end)]
        if not t.size:
            continue
        live = live_share(jvm, np.arange(jvm.start, jvm.end, EXPORT))
        all_t = np.arange(jvm.start, jvm.end, EXPORT)
        collected = _collections(rng, jvm, minutes, t)
        garbage = rng.uniform(0.0, 0.05, t.size)
        at = np.searchsorted(all_t, np.where(np.isfinite(collected), collected, all_t[0]))
        after = np.where(np.isfinite(collected), live[np.clip(at, 0, all_t.size - 1)] + garbage[np.clip(
            np.searchsorted(t, collected), 0, t.size - 1)], 0.0) * heap
        used = (live[np.searchsorted(all_t, t)] + rng.uniform(0.02, 0.12, t.size)) * heap
        series.append((jvm, old, young, heap, t, after, used))
    for begin in np.arange(START, run.end, EXPORT):
        points = []
        for jvm, old, young, heap, t, after, used in series:
            lo, hi = np.searchsorted(t, [begin, begin + EXPORT])
            base = (("instance", jvm.pod), ("job", jvm.service), ("jvm_memory_type", "heap"))
            for ts, a, u in zip(t[lo:hi].tolist(), after[lo:hi].tolist(), used[lo:hi].tolist()):
                pool = tuple(sorted(base + (("jvm_memory_pool_name", old),)))
                points += [Point("jvm_memory_used_after_last_gc_bytes", pool, ts, float(int(a)), GAUGE),
                           Point("jvm_memory_used_bytes", pool, ts, float(int(u)), GAUGE),
                           Point("jvm_memory_limit_bytes", pool, ts, heap, GAUGE)]
                for name in young:
                    labels = tuple(sorted(base + (("jvm_memory_pool_name", name),)))
                    points += [Point("jvm_memory_used_after_last_gc_bytes", labels, ts, 0.0, GAUGE),
                               Point("jvm_memory_used_bytes", labels, ts, 0.1 * heap, GAUGE)]
        yield float(begin + EXPORT), points


__all__ = ["EXPORT", "OOM_AT", "SERVICES", "START", "Jvm", "Run", "exports", "fleet", "live_share", "load"]
