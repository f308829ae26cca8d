"""Pod churn: one Kubernetes Deployment of JVM services, as cAdvisor and kube-state-metrics
expose it, scraped every 15 s for three days.

Each pod's container warms up after it starts: its working set climbs from about 7% of the
memory limit towards the heap it settles at (70-88% of the limit) as an exponential
approach (time constant 10-30 min), with a garbage collector's sawtooth on top (2-5% of
the limit, 15-25 min teeth) and a little of the day's traffic. Nothing here is a failure:
every 8-14 h a rolling update replaces all six pods a few minutes apart (new pod names),
and every afternoon two more pods run from 13:00 to 20:00 (a scale-out). In a leak run one
pod of the longest-lived generation also leaks after its warm-up, reaches its limit, is
OOM-killed and restarts (same pod, new container id), and leaks again.

A held-out generator for Foresight's exhaustion kind on `container_memory_working_set_bytes`
against `kube_pod_container_resource_limits`: written before any result of this code was
seen (a first sketch of it showed the false pages that led to the change it measures).
Everything follows from (seed, leak).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from foresight.contracts.points import GAUGE, Point

STEP, MIN, HOUR, DAY = 15.0, 60.0, 3600.0, 86400.0
GIB = 2.0 ** 30
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LIMIT = 2 * GIB
REPLICAS = 6
OOM_AT = 0.999  # of the limit: the kernel kills the container
KUBELET = (("instance", "10.0.1.12:10250"), ("job", "kubelet"), ("metrics_path", "/metrics/cadvisor"))
KSM = (("instance", "10.0.2.5:8080"), ("job", "kube-state-metrics"))


@dataclass
class Pod:
    name: str
    start: float
    end: float
    level: float  # the share of the limit the heap settles at
    tau: float  # warm-up time constant, s
    gc_period: float
    gc_amplitude: float
    gc_phase: float
    leak_from: float | None = None  # when the leak starts
    leak_rate: float = 0.0  # share of the limit per second
    kills: list = field(default_factory=list)  # OOM kills (times)


@dataclass
class Run:
    seed: int
    leak: bool
    end: float
    pods: list
    leaking: str | None  # the leaking pod's name
    oom: float | None  # its first OOM kill

    @property
    def name(self) -> str:
        return f"{'leak' if self.leak else 'healthy'}-s{self.seed}"


def _pod(rng, start: float, end: float, template: str) -> Pod:
    suffix = "".join(rng.choice(list("bcdfghjklmnpqrstvwxz2456789"), 5))
    return Pod(f"api-{template}-{suffix}", start, end, level=rng.uniform(0.70, 0.88), tau=rng.uniform(10, 30) * MIN,
               gc_period=rng.uniform(15, 25) * MIN, gc_amplitude=rng.uniform(0.02, 0.05), gc_phase=rng.uniform(0, 1))


def _template(rng) -> str:
    return f"{int(rng.integers(16**9, 16**10)):010x}"


def deployment(seed: int, leak: bool, days: float = 3.0) -> Run:
    rng = np.random.default_rng([int(seed), 7, int(leak)])
    end = START + days * DAY
    template = _template(rng)
    live = [_pod(rng, START - rng.uniform(0, 600), end, template) for _ in range(REPLICAS)]
    pods = list(live)
    update = START + rng.uniform(8, 14) * HOUR
    while update < end:
        template = _template(rng)
        for i in range(REPLICAS):
            at = update + i * rng.uniform(2, 4) * MIN
            live[i].end = at + 30.0  # the old pod stops once the new one is ready
            live[i] = _pod(rng, at, end, template)
            pods.append(live[i])
        update += rng.uniform(8, 14) * HOUR
    for day in range(int(math.ceil(days))):
        noon = START + day * DAY
        for k in range(2):
            pods.append(_pod(rng, noon + 13 * HOUR + k * MIN, noon + 20 * HOUR, template))
    run = Run(int(seed), leak, end, pods, None, None)
    if leak:
        longest = max(pods[:-2 * int(math.ceil(days))], key=lambda p: p.end - p.start)
        longest.leak_from = longest.start + rng.uniform(1, 2) * HOUR
        to_limit = rng.uniform(0.35, 0.7) * (longest.end - longest.leak_from)
        longest.leak_rate = (1.0 - longest.level + 0.03) / to_limit
        run.leaking = longest.name
        _values(longest, np.arange(longest.start, longest.end, STEP), rng=None)  # marks its OOM kills
        run.oom = longest.kills[0] if longest.kills else None
    return run


def _values(pod: Pod, t: np.ndarray, rng) -> np.ndarray:
    """The pod's working set, as a share of the limit, at times `t` (sorted). An OOM kill
    restarts the container: warm-up again, the leak again."""
    out = np.empty(t.size)
    since, kills = pod.start, []
    k = 0
    while k < t.size:
        age = t[k:] - since
        warm = pod.level * (1 - np.exp(-age / pod.tau)) + 0.07 * np.exp(-age / pod.tau)
        teeth = pod.gc_amplitude * (((age / pod.gc_period) + pod.gc_phase) % 1.0 - 0.5)
        day = 0.02 * np.sin(2 * np.pi * ((t[k:] / HOUR - 9) % 24) / 24)
        leak = pod.leak_rate * np.maximum(t[k:] - max(pod.leak_from or np.inf, since + HOUR), 0.0)
        v = warm + teeth + day + leak
        over = np.nonzero(v >= OOM_AT)[0]
        stop = over[0] if over.size else v.size
        out[k:k + stop] = v[:stop]
        if not over.size:
            break
        kills.append(float(t[k + stop]))
        out[k + stop] = OOM_AT
        since, k = float(t[k + stop]) + 20.0, k + stop + 1
    pod.kills = kills
    if rng is not None:
        out = out + rng.normal(0.0, 0.004, t.size)
    return np.clip(out, 0.0, OOM_AT)


def scrapes(run: Run, every: float = 60.0):
    """(end of the flush, points) for each `every` seconds of the run: each live pod's
    working set (cAdvisor, with the container id that changes on a restart) and its limit
    (kube-state-metrics)."""
    rng = np.random.default_rng([run.seed, 8, int(run.leak)])
    series = []
    for pod in run.pods:
        t = np.arange(pod.start, pod.end, STEP)
        t = t[(t >= START) & (t < run.end)]
        series.append((pod, t, _values(pod, t, rng) * LIMIT))
    for begin in np.arange(START, run.end, every):
        points = []
        for pod, t, v in series:
            lo, hi = np.searchsorted(t, [begin, begin + every])
            for ts, value in zip(t[lo:hi].tolist(), v[lo:hi].tolist()):
                restarts = sum(k <= ts for k in pod.kills)
                cid = f"{zlib.crc32(f'{pod.name}/{restarts}'.encode()):08x}"
                labels = KUBELET + (("container", "api"), ("id", f"/kubepods/burstable/pod{pod.name}/{cid}"),
                                    ("image", "registry.example.com/api:1.8"), ("name", cid),
                                    ("namespace", "shop"), ("pod", pod.name))
                points.append(Point("container_memory_working_set_bytes", tuple(sorted(labels)), ts, value, GAUGE))
                limits = KSM + (("container", "api"), ("namespace", "shop"), ("node", "worker-1"),
                                ("pod", pod.name), ("resource", "memory"), ("uid", f"uid-{pod.name}"),
                                ("unit", "byte"))
                points.append(Point("kube_pod_container_resource_limits", tuple(sorted(limits)), ts, LIMIT, GAUGE))
        yield float(begin + every), points


__all__ = ["LIMIT", "OOM_AT", "Pod", "Run", "START", "deployment", "scrapes"]
