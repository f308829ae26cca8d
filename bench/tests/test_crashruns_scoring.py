"""bench/crashruns: the node-mixin emulation and the scoring of warnings and false alerts."""
import sys
from array import array
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from crashruns.mixin import counter_rate, mixin_alerts  # noqa: E402
from crashruns.replay import Samples  # noqa: E402
from crashruns.score import foresight_episodes, merged, score_run, summarise  # noqa: E402

from foresight.contracts.predictions import output_labels  # noqa: E402
from foresight.runtime.alert_episodes import Episode  # noqa: E402

T0 = 1_767_225_600.0
HOUR = 3600.0


def samples(kind, ts, vs):
    return Samples(kind, array("d", ts), array("d", vs))


def test_counter_rate_reads_a_reset_as_an_increase_from_zero():
    ts = np.arange(0.0, 600.0, 15.0)
    vs = 2.0 * ts  # 2 per second
    vs[20:] = 2.0 * (ts[20:] - ts[19])  # reset just before t=300: counts again from 0
    rate = counter_rate(ts, vs, np.array([120.0, 300.0, 330.0, 600.0]))
    assert np.allclose(rate, 2.0)
    assert np.isnan(counter_rate(ts, vs, np.array([0.0]))).all()  # one sample: no rate


def node_series(avail_fraction, load=0.5, hours=3.0):
    """One node: 16 GiB of memory with the given available share over time, 4 idle CPUs."""
    ts = T0 + np.arange(0.0, hours * HOUR, 15.0)
    labels = (("instance", "a:9100"), ("job", "node"))
    total = 16 * 2**30
    series = {("node_memory_MemTotal_bytes", labels): samples("gauge", ts, np.full(ts.size, total)),
              ("node_memory_MemAvailable_bytes", labels): samples("gauge", ts, total * avail_fraction(ts - T0)),
              ("node_load1", labels): samples("gauge", ts, np.full(ts.size, load))}
    for cpu in range(4):
        key = ("node_cpu_seconds_total", tuple(sorted(labels + (("cpu", str(cpu)), ("mode", "idle")))))
        series[key] = samples("counter", ts, 0.8 * (ts - T0))
    return series


def test_node_memory_high_utilization_fires_after_15_minutes_above_90_percent():
    alerts = mixin_alerts(node_series(lambda t: np.where(t >= HOUR, 0.05, 0.5)))
    memory = [a for a in alerts if a["rule"] == "NodeMemoryHighUtilization"]
    assert len(memory) == 1 and memory[0]["start"] == T0 + HOUR + 900 and memory[0]["end"] is None
    assert not [a for a in alerts if a["rule"] in ("NodeSystemSaturation", "NodeCPUHighUsage")]


def test_node_system_saturation_needs_load_above_twice_the_cpus():
    assert not [a for a in mixin_alerts(node_series(lambda t: 0.5 + 0 * t, load=7.9))
                if a["rule"] == "NodeSystemSaturation"]
    assert [a for a in mixin_alerts(node_series(lambda t: 0.5 + 0 * t, load=8.5))
            if a["rule"] == "NodeSystemSaturation"]


def episode(start, end, severity="warning", instance="a:9100", rule="r"):
    return {"series": (rule, instance), "rule": rule, "instance": instance, "severity": severity,
            "start": start, "end": end}


def test_episodes_closer_than_five_minutes_merge_and_keep_the_highest_severity():
    out = merged([episode(0, 100), episode(350, 400, "critical"), episode(800, 900)])
    assert [(e["start"], e["end"], e["severity"]) for e in out] == [(0, 400, "critical"), (800, 900, "warning")]


def crash_run(**kw):
    base = dict(name="r", fault="memory-leak", seed=1, start=T0, fault_start=T0 + 10 * HOUR,
                crash=T0 + 12 * HOUR, end=T0 + 12 * HOUR, faulty_instances=["a:9100"],
                instances=["a:9100", "b:9100"], confounders=[("rolling-deploy", T0 + 5 * HOUR)])
    base.update(kw)
    return SimpleNamespace(**base)


def test_a_warning_counts_only_on_the_faulty_node_and_10_minutes_ahead():
    run = crash_run()
    spans = {"a:9100": (T0, T0 + 12 * HOUR), "b:9100": (T0, T0 + 12 * HOUR)}
    on_peer = score_run(run, [episode(T0 + 11 * HOUR, None, instance="b:9100")], spans)
    too_late = score_run(run, [episode(T0 + 12 * HOUR - 300, None)], spans)
    ahead = score_run(run, [episode(T0 + 11 * HOUR, None)], spans)
    assert on_peer["warned"] is False and too_late["warned"] is False and too_late["late"]
    assert ahead["warned"] is True and ahead["lead"] == HOUR


def test_false_alerts_are_those_before_the_fault_and_are_put_down_to_what_came_before():
    run = crash_run()
    spans = {"a:9100": (T0, T0 + 12 * HOUR), "b:9100": (T0 + 8 * HOUR, T0 + 12 * HOUR)}  # b replaced a node
    row = score_run(run, [episode(T0 + 600, T0 + 900, "critical"),  # the cluster's start-up
                          episode(T0 + 5.5 * HOUR, T0 + 6 * HOUR),  # after the deploy
                          episode(T0 + 8.2 * HOUR, T0 + 9 * HOUR, instance="b:9100"),  # the new node's start-up
                          episode(T0 + 10.5 * HOUR, None, instance="b:9100", rule="s")], spans)  # after the fault, on a peer
    assert row["false"] == 3 and row["false_pages"] == 1
    assert row["false_causes"] == ["start-up", "rolling-deploy", "start-up"]
    assert row["node_days"] == 16 * HOUR / 86400
    healthy = score_run(crash_run(fault="none", fault_start=None, crash=None), [episode(T0 + 11 * HOUR, None)], spans)
    assert healthy["false"] == 1 and healthy["warned"] is None
    s = summarise([row, healthy])
    assert (s["failures"], s["warned"], s["runs_with_false"], s["false"], s["false_pages"]) == (1, 0, 2, 4, 1)


def test_foresight_episodes_are_put_on_the_node_its_labels_name():
    """A prediction's labels name the node `service_instance` (the source's `instance`)."""
    labels = output_labels({"instance": "store-2:9100", "job": "node", "cpu": "0", "mode": "idle"})
    replayed = SimpleNamespace(episodes=[Episode("node-cpu", labels, "warning", T0, T0 + 60, None, ""),
                                         Episode("node-cpu", labels, "critical", T0 + 30, None, None, "")])
    (only,) = foresight_episodes(replayed)
    assert only["instance"] == "store-2:9100" and only["severity"] == "critical" and only["end"] is None


def table_series(metric, limit_metric, share, hours=3.0, limit=100_000.0):
    """One node's `metric` at `share(t)` of a constant `limit_metric`."""
    ts = T0 + np.arange(0.0, hours * HOUR, 15.0)
    labels = (("instance", "a:9100"), ("job", "node"))
    return {(metric, labels): samples("gauge", ts, np.floor(limit * share(ts - T0))),
            (limit_metric, labels): samples("gauge", ts, np.full(ts.size, limit))}


def rules(alerts, rule):
    return [(a["severity"], a["start"] - T0) for a in alerts if a["rule"] == rule]


def test_file_descriptor_limit_warns_above_70_and_pages_above_90_percent_after_15_minutes():
    share = lambda t: np.where(t >= HOUR, 0.95, np.where(t >= 0.5 * HOUR, 0.75, 0.5))  # noqa: E731
    alerts = mixin_alerts(table_series("node_filefd_allocated", "node_filefd_maximum", share))
    assert rules(alerts, "NodeFileDescriptorLimit") == [("warning", 0.5 * HOUR + 900), ("critical", HOUR + 900)]
    assert not mixin_alerts(table_series("node_filefd_allocated", "node_filefd_maximum", lambda t: 0.69 + 0 * t))


def test_conntrack_warns_at_once_above_75_percent():
    share = lambda t: np.where((t >= HOUR) & (t < 1.5 * HOUR), 0.8, 0.7)  # noqa: E731
    alerts = mixin_alerts(table_series("node_nf_conntrack_entries", "node_nf_conntrack_entries_limit", share))
    assert rules(alerts, "NodeHighNumberConntrackEntriesUsed") == [("warning", HOUR)]
    assert alerts[0]["end"] == T0 + 1.5 * HOUR


def test_inodes_filling_up_needs_a_falling_trend_and_less_than_40_percent_free():
    fs = (("device", "/dev/sda1"), ("fstype", "ext4"), ("instance", "a:9100"), ("job", "node"),
          ("mountpoint", "/data"))
    ts = T0 + np.arange(0.0, 8 * HOUR, 15.0)

    def node(free_share):
        total = 1_000_000.0
        return {("node_filesystem_files_free", fs): samples("gauge", ts, np.floor(total * free_share)),
                ("node_filesystem_files", fs): samples("gauge", ts, np.full(ts.size, total))}

    falling = mixin_alerts(node(0.45 - 0.02 * (ts - T0) / HOUR))  # 45% free, 2 points an hour less
    warned = rules(falling, "NodeFilesystemFilesFillingUp")
    assert warned and warned[0][0] == "warning"
    assert 3.5 * HOUR < warned[0][1] <= 3.5 * HOUR + 60  # below 40% just after 2.5 h, then for: 1h
    assert not rules(mixin_alerts(node(0.3 + 0 * ts)), "NodeFilesystemFilesFillingUp")  # low but steady
    assert rules(mixin_alerts(node(0.04 + 0 * ts)), "NodeFilesystemAlmostOutOfFiles")[0] == ("warning", HOUR)
