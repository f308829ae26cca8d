"""bench/jvmheap: the JVM fleet generator's own properties, and its baselines."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jvmheap.fleet import OOM_AT, SERVICES, START, exports, fleet  # noqa: E402
from jvmheap.run import baselines  # noqa: E402

from foresight.predictors.exhaustion.held import is_held  # noqa: E402

HOUR = 3600.0


def collect(run, hours: float = 72.0) -> dict:
    """(pod, pool) -> (times, after-GC values, limits seen) over the first `hours`."""
    out = {}
    for now, points in exports(run):
        if now > START + hours * HOUR:
            break
        for p in points:
            labels = dict(p.labels)
            ts, after, limits = out.setdefault((labels["instance"], labels["jvm_memory_pool_name"]), ([], [], []))
            if p.metric == "jvm_memory_used_after_last_gc_bytes":
                ts.append(p.timestamp)
                after.append(p.value)
            elif p.metric == "jvm_memory_limit_bytes":
                limits.append(p.value)
    return out


def test_pods_come_and_go_and_only_the_old_generation_has_a_maximum():
    run = fleet(5, leak=False)
    names = [j.pod for j in run.jvms]
    assert len(set(names)) == len(names) and len(names) >= 3 * 12  # a new generation every 8-14 h
    series = collect(run)
    for (pod, pool), (ts, after, limits) in series.items():
        service = pod.split("-")[0]
        old, young, heap, _, _ = SERVICES[service]
        if pool == old:
            assert set(limits) == {heap} and max(after) < OOM_AT * heap * 1.06
        else:
            assert pool in young and not limits and set(after) == {0.0}
    assert not any(j.deaths for j in run.jvms) and run.oom is None


def test_old_generations_step_at_their_collections():
    """G1's and the parallel collector's figures hold between collections (staircases, minutes
    to hours); ZGC's move every few minutes."""
    series = collect(fleet(5, leak=False), hours=24)
    held = {service: [] for service in SERVICES}
    for (pod, pool), (ts, after, _) in series.items():
        service = pod.split("-")[0]
        if pool == SERVICES[service][0] and len(after) > 240:
            held[service].append(is_held(np.asarray(after[-240:])))
    assert all(held["orders"]) and all(held["billing"]) and not any(held["search"])


def test_a_leak_run_kills_its_leaking_jvm_which_starts_again_from_zero():
    run = fleet(5, leak=True)
    victim = next(j for j in run.jvms if j.pod == run.leaking)
    assert run.oom == victim.deaths[0] and victim.leak_from < run.oom < victim.end
    assert all(not j.deaths for j in run.jvms if j.pod != run.leaking)
    old = SERVICES[victim.service][0]
    ts, after, _ = collect(run)[(victim.pod, old)]
    ts, after = np.asarray(ts), np.asarray(after)
    heap = SERVICES[victim.service][2]
    before = after[(ts < run.oom) & (ts > run.oom - 3 * HOUR)]
    assert before.max() > 0.8 * heap  # it got near its maximum before it died
    assert after[np.searchsorted(ts, run.oom + 60)] == 0.0  # a new JVM: no collection yet


def test_baselines_fire_on_a_high_share_and_on_a_climb_towards_the_maximum():
    ts = START + np.arange(0, 6 * HOUR, 60.0)
    steady = 0.9 * np.ones(ts.size)  # above 85%: the static rule only
    climbing = 0.3 + 0.15 * (ts - START) / HOUR  # 100% at about 4.7 h: predict_linear only, until 85%
    samples = {"steady": (ts, steady * 100, np.full(ts.size, 100.0)),
               "climbing": (ts, climbing * 100, np.full(ts.size, 100.0))}
    static, linear = baselines(samples)
    assert {e["pod"] for e in static} == {"steady", "climbing"}
    assert [e["pod"] for e in linear] == ["climbing"]
    first_static = min(e["start"] for e in static if e["pod"] == "climbing")
    assert linear[0]["start"] < first_static - HOUR
