"""node-mixin's node alerts, emulated on a crash run's samples: the baseline.

The rules (node-mixin, kubernetes-monitoring/node-mixin's alerts), evaluated every minute
as Prometheus would (range selectors, `for:`: bench/exhaustion/baselines.py):
- NodeMemoryHighUtilization, warning: 100 - MemAvailable / MemTotal * 100 > 90, for 15m;
- NodeSystemSaturation, warning: node_load1 / CPUs > 2, for 15m;
- NodeCPUHighUsage, info: (1 - idle rate averaged over CPUs, rate[2m]) * 100 > 90, for 15m;
- NodeFilesystemSpaceFillingUp: less than 40% free and predict_linear(avail[6h], 24h) < 0
  (warning), less than 20% free and predict_linear(avail[6h], 4h) < 0 (critical), for 1h;
  as bench/exhaustion/baselines.node_mixin;
- NodeFilesystemAlmostOutOfSpace: less than 5% free (warning), 3% (critical), for 30m;
- NodeFilesystemFilesFillingUp and NodeFilesystemAlmostOutOfFiles: the same two rules on
  free inodes (node_filesystem_files_free of node_filesystem_files), every `for:` 1h;
- NodeFileDescriptorLimit: node_filefd_allocated above 70% of node_filefd_maximum
  (warning), 90% (critical), for 15m;
- NodeHighNumberConntrackEntriesUsed, warning: node_nf_conntrack_entries above 75% of
  node_nf_conntrack_entries_limit, no `for:`.
"""
import warnings

import numpy as np

from exhaustion.baselines import hold_for, instant, predict_linear
from exhaustion.score import episodes

GRID = 60.0
RATE_WINDOW = 120.0
# (available, size, the filling-up rule, the almost-out rule, the almost-out rule's `for:`)
FILESYSTEM_RULES = [
    ("node_filesystem_avail_bytes", "node_filesystem_size_bytes", "NodeFilesystemSpaceFillingUp",
     "NodeFilesystemAlmostOutOfSpace", 1800),
    ("node_filesystem_files_free", "node_filesystem_files", "NodeFilesystemFilesFillingUp",
     "NodeFilesystemAlmostOutOfFiles", 3600)]
# (used, limit, rule, (severity, share above which it holds), `for:`)
TABLE_RULES = [
    ("node_filefd_allocated", "node_filefd_maximum", "NodeFileDescriptorLimit",
     (("warning", 0.7), ("critical", 0.9)), 900),
    ("node_nf_conntrack_entries", "node_nf_conntrack_entries_limit", "NodeHighNumberConntrackEntriesUsed",
     (("warning", 0.75),), 0)]


def episodes_of(grid: np.ndarray, firing: np.ndarray, rule: str, instance: str, severity: str) -> list[dict]:
    """Each run of consecutive firing evaluations as one alert episode, from its first firing
    evaluation to the one that resolves it (the next on the grid); None as the end of one
    still firing at the last (merging is left to crashruns.score)."""
    still = bool(firing[-1]) if len(firing) else False
    runs = episodes(grid, firing, merge_gap=0)
    return [{"rule": rule, "instance": instance, "severity": severity, "start": start,
             "end": None if still and i == len(runs) - 1 else end + GRID} for i, (start, end) in enumerate(runs)]


def counter_rate(ts: np.ndarray, values: np.ndarray, grid: np.ndarray, window: float = RATE_WINDOW) -> np.ndarray:
    """rate(x[window]) at each grid time, without Prometheus' extrapolation: the increase
    between the first and last samples in (t - window, t] over their distance; a fall is a
    counter reset (the new value is the increase). NaN with fewer than two samples."""
    steps = np.diff(values, prepend=values[:1])
    increase = np.concatenate([[0.0], np.cumsum(np.where(steps < 0, values, steps))])[1:]
    hi = np.searchsorted(ts, grid, side="right") - 1
    lo = np.searchsorted(ts, grid - window, side="right")
    ok = (hi >= 0) & (hi > lo)
    hi_c, lo_c = np.clip(hi, 0, None), np.clip(lo, 0, len(ts) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (increase[hi_c] - increase[lo_c]) / (ts[hi_c] - ts[lo_c])
    return np.where(ok, rate, np.nan)


def _by_instance(series: dict) -> dict:
    """instance -> {(metric, other labels): (times, values)} with times sorted."""
    out: dict = {}
    for (metric, labels), s in series.items():
        labels = dict(labels)
        instance = labels.pop("instance", "")
        ts, vs = np.frombuffer(s.times), np.frombuffer(s.values)
        order = np.argsort(ts, kind="stable")
        out.setdefault(instance, {})[(metric, tuple(sorted(labels.items())))] = (ts[order], vs[order])
    return out


def _one(node: dict, metric: str, **match):
    for (name, labels), arrays in node.items():
        if name == metric and all(dict(labels).get(k) == v for k, v in match.items()):
            return arrays
    return None


def node_alerts(instance: str, node: dict) -> list[dict]:
    times = np.concatenate([ts for ts, _ in node.values()])
    grid = np.arange(np.ceil(times.min() / GRID) * GRID, times.max() + 1e-9, GRID)
    out = []
    avail, total = _one(node, "node_memory_MemAvailable_bytes"), _one(node, "node_memory_MemTotal_bytes")
    if avail and total:
        used_pct = 100 - instant(*avail, grid) / instant(*total, grid) * 100
        out += episodes_of(grid, hold_for(grid, used_pct > 90, 900), "NodeMemoryHighUtilization", instance, "warning")
    idle = [a for (name, labels), a in node.items() if name == "node_cpu_seconds_total" and ("mode", "idle") in labels]
    if idle:
        with warnings.catch_warnings():  # no rate yet at the first evaluations: NaN, not an alert
            warnings.simplefilter("ignore", RuntimeWarning)
            busy = 100 * (1 - np.nanmean([counter_rate(ts, vs, grid) for ts, vs in idle], axis=0))
        out += episodes_of(grid, hold_for(grid, busy > 90, 900), "NodeCPUHighUsage", instance, "info")
        load = _one(node, "node_load1")
        if load:
            saturated = instant(*load, grid) / len(idle) > 2
            out += episodes_of(grid, hold_for(grid, saturated, 900), "NodeSystemSaturation", instance, "warning")
    for avail_name, size_name, filling, almost, almost_for in FILESYSTEM_RULES:
        for (name, labels), (ts, avail_fs) in node.items():
            if name != avail_name:
                continue
            size = _one(node, size_name, **dict(labels))
            if size is None:
                continue
            free = instant(ts, avail_fs, grid) / instant(*size, grid)
            warn = (free < 0.4) & (predict_linear(ts, avail_fs, grid, 6 * 3600, 24 * 3600) < 0)
            crit = (free < 0.2) & (predict_linear(ts, avail_fs, grid, 6 * 3600, 4 * 3600) < 0)
            out += episodes_of(grid, hold_for(grid, warn, 3600), filling, instance, "warning")
            out += episodes_of(grid, hold_for(grid, crit, 3600), filling, instance, "critical")
            out += episodes_of(grid, hold_for(grid, free < 0.05, almost_for), almost, instance, "warning")
            out += episodes_of(grid, hold_for(grid, free < 0.03, almost_for), almost, instance, "critical")
    for used_name, limit_name, rule, levels, hold in TABLE_RULES:
        used, limit = _one(node, used_name), _one(node, limit_name)
        if used and limit:
            share = instant(*used, grid) / instant(*limit, grid)
            for severity, level in levels:
                out += episodes_of(grid, hold_for(grid, share > level, hold), rule, instance, severity)
    return out


def mixin_alerts(series: dict) -> list[dict]:
    """Every node-mixin alert episode of a run, from its samples ((metric, labels) -> Samples)."""
    return [e for instance, node in sorted(_by_instance(series).items()) for e in node_alerts(instance, node)]


__all__ = ["counter_rate", "episodes_of", "mixin_alerts"]
