"""bench/kubechurn: the pod-churn generator's own properties, and its scoring."""
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kubechurn.deployment import LIMIT, OOM_AT, START, deployment, scrapes  # noqa: E402
from crashruns.score import merged  # noqa: E402
from kubechurn.run import episode, one_run, score, static_rule  # noqa: E402

HOUR = 3600.0


def test_rolling_updates_replace_every_pod_and_the_afternoons_scale_out():
    run = deployment(4, leak=False)
    names = [p.name for p in run.pods]
    assert len(set(names)) == len(names)
    at_start = [p for p in run.pods if p.start <= START]
    assert len(at_start) == 6
    scale_out = [p for p in run.pods if abs((p.start - START) % 86400 - 13 * HOUR) <= 60 and p.end - p.start <= 7 * HOUR]
    assert len(scale_out) == 6  # two pods an afternoon (13:00 to 20:00), three afternoons
    for moment in START + np.arange(1, 72) * HOUR:
        running = [p for p in run.pods if p.start <= moment < p.end]
        assert 6 <= len(running) <= 8 + 6  # a rolling update overlaps old and new pods for 30 s each
    generations = {p.name.split("-")[1] for p in run.pods}
    assert len(generations) >= 5  # a new pod template every 8-14 h
    assert not any(p.kills for p in run.pods) and run.oom is None and run.leaking is None


def test_a_leak_run_kills_its_leaking_pod_at_the_limit_and_it_starts_again():
    run = deployment(4, leak=True)
    leaking = next(p for p in run.pods if p.name == run.leaking)
    assert run.oom == leaking.kills[0] and leaking.leak_from < run.oom < leaking.end
    assert run.oom - leaking.leak_from > HOUR
    assert all(not p.kills for p in run.pods if p.name != run.leaking)


def test_scrapes_are_working_sets_under_the_limit_and_the_limits():
    run = deployment(4, leak=True)
    seen, ids = {}, {}
    for _, points in scrapes(run):
        for p in points:
            labels = dict(p.labels)
            if p.metric == "kube_pod_container_resource_limits":
                assert p.value == LIMIT and labels["resource"] == "memory"
                continue
            assert p.metric == "container_memory_working_set_bytes" and 0 < p.value <= OOM_AT * LIMIT
            seen.setdefault(labels["pod"], []).append(p.value / LIMIT)
            ids.setdefault(labels["pod"], set()).add(labels["id"])
    assert len(ids[run.leaking]) == 1 + len(next(p for p in run.pods if p.name == run.leaking).kills)
    settled = [np.median(v[-60:]) for pod, v in seen.items() if pod != run.leaking and len(v) > 400]
    assert 0.65 < min(settled) and max(settled) < 0.92  # heaps settle at 70-88% of the limit


def test_scores_count_false_alerts_off_the_leaking_pod_and_the_warning_lead():
    run = SimpleNamespace(leaking="b", oom=10_000.0)
    episodes = merged([episode("a", 100.0, 200.0, "warning"),
                       episode("a", 400.0, 500.0, "critical"),  # within 5 min: one episode
                       episode("b", 9_500.0, None, "critical")])
    out = score(run, episodes)
    assert out["false"] == 1 and out["false_pages"] == 1
    assert out["warned"] is False  # 500 s before the kill: less than 10 minutes
    assert score(run, merged([episode("b", 9_000.0, None, "warning")]))["lead"] == 1000.0


def test_the_static_rule_fires_after_two_minutes_above_80_percent():
    ts = START + np.arange(0, 1800, 15.0)
    vs = np.where(ts >= START + 600, 0.85, 0.5) * LIMIT
    (only,) = static_rule({"a": (ts.tolist(), vs.tolist())})
    assert only["start"] == START + 600 + 120 and only["severity"] == "warning"


def test_one_run_through_the_engine():
    result = one_run((4, False))
    assert result["errors"] == 0 and result["foresight"]["warned"] is None
    assert result["static"]["false"] > 0  # the heaps sit above 80% of the limit
