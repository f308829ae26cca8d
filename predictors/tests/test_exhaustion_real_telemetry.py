"""The exhaustion kind on real exporters' series: 15 s scrapes, free space draining to 0,
noise, restarts, and series that come and go."""
import math

import numpy as np
import pytest

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine
from foresight.store import StoreSettings

GiB = 2**30
T0 = 1_767_225_600
DAY = 86400.0
FS_LABELS = (("device", "/dev/sdb1"), ("fstype", "ext4"), ("instance", "db:9100"), ("job", "node"),
             ("mountpoint", "/data"))
MEM_LABELS = (("container", "checkout"), ("instance", "node-1:10250"), ("job", "kubelet"),
              ("namespace", "shop"), ("pod", "checkout-7d4b9"))

FILESYSTEM = """
predictors:
  - name: disk
    kind: exhaustion
    series: node_filesystem_avail_bytes{mountpoint="/data"}
    direction: down
    limit: 0
    resource: disk
    unit: bytes
"""
MEMORY = """
predictors:
  - name: memory
    kind: exhaustion
    series: container_memory_working_set_bytes{container="checkout"}
    limit: 2Gi
    policy: {min_history: 0s}
"""


def run(engine, metric, labels, times, values):
    """Feed one series point by point; returns the predictions and the withdrawals."""
    preds, withdrawn = [], []
    for t, v in zip(times.tolist(), values.tolist()):
        engine.add_points("metrics", [Point(metric, labels, t, v, GAUGE)])
        preds.extend(engine.evaluate())
        withdrawn.extend(engine.withdrawn)
    return preds, withdrawn


def target(engine):
    return next(iter(engine.predictors[0]._targets.values()))


def test_a_filesystem_filling_over_two_days_warns_hours_ahead():
    """Free space watched as node_filesystem_avail_bytes (direction: down, limit: 0), 15 s
    scrapes, with noise and small rises (temporary files deleted): it must not read every
    rise as a reset."""
    rng = np.random.default_rng(3)
    t = T0 + np.arange(0, 4 * DAY, 15.0)
    full = T0 + 4 * DAY
    free = np.where(t < T0 + 2 * DAY, 350 * GiB, 350 * GiB * (full - t) / (2 * DAY))
    free = free + rng.normal(0, 0.2 * GiB, t.size)
    for start in rng.uniform(T0, full, 96):  # about one an hour: 0.5-3 GiB freed for 15 minutes
        free[(t >= start) & (t < start + 900)] += rng.uniform(0.5, 3) * GiB
    free = np.maximum(free, 0)
    engine = Engine(parse_config(FILESYSTEM))
    preds, withdrawn = run(engine, "node_filesystem_avail_bytes", FS_LABELS, t, free)
    assert withdrawn == []  # no reset was seen, so no prediction was ever taken back
    assert len(target(engine).resets.peaks) == 0
    at = {round(p.timestamp): p for p in preds}

    def prediction(hours_before):
        return at[min(at, key=lambda s: abs(s - (full - hours_before * 3600)))]

    six = prediction(6)
    assert six.risk_level >= 2  # warning (or critical) six hours before the disk is full
    assert six.ttf[0.5] == pytest.approx(6 * 3600, rel=0.3)
    assert six.ttf[0.1] <= 6 * 3600 * 1.05 and six.ttf[0.9] >= 6 * 3600 * 0.95
    assert prediction(12).ttf[0.5] == pytest.approx(12 * 3600, rel=0.3)
    first_warning = min(p.timestamp for p in preds if p.risk_level >= 2)
    assert full - first_warning >= 6 * 3600
    assert all(p.risk_level == 0 for p in preds if p.timestamp < T0 + 2 * DAY)  # flat: no alert


def test_space_freed_is_a_reset_and_the_forecast_starts_again_from_it():
    rng = np.random.default_rng(5)
    t = T0 + np.arange(0, 12 * 3600, 15.0)
    cleanup = T0 + 6 * 3600
    free = 300 * GiB - 20 * GiB * (t - T0) / 3600 + rng.normal(0, 0.3 * GiB, t.size)
    free[t >= cleanup] += np.minimum((t[t >= cleanup] - cleanup) / 300, 1) * 150 * GiB  # freed over 5 min
    engine = Engine(parse_config(FILESYSTEM.replace("    resource: disk\n", "    policy: {min_history: 0s}\n")))
    preds, _ = run(engine, "node_filesystem_avail_bytes", FS_LABELS, t, free)
    state = target(engine)
    assert len(state.resets.peaks) == 1 and state.resets.peaks[0][1] is False  # a cycle that ended short of 0
    assert cleanup - 60 <= state.resets.last_time <= cleanup + 60  # the reset's peak
    last = preds[-1]  # 300 - 20 * 12 + 150: about 210 GiB left, at 20 GiB/h
    assert last.trend_per_second == pytest.approx(-20 * GiB / 3600, rel=0.1)
    # One earlier cycle ended short of the limit (the cleanup): the chance this one reaches
    # it is 1/3 (the rule of succession), so the median is no crossing at all, and the
    # first decile is the fresh line's crossing.
    assert last.probability[86400] == pytest.approx(1 / 3, abs=0.01) and math.isinf(last.ttf[0.5])
    assert last.ttf[0.1] == pytest.approx((free[-1] / (20 * GiB)) * 3600, rel=0.15)


def test_an_oom_kill_is_a_reset_but_garbage_collection_near_the_limit_is_not():
    """15 s scrapes of a JVM-like container: a GC sawtooth of 3% of the limit every 4 min on a
    leak that reaches the limit, then the OOM kill and a new cycle."""
    rng = np.random.default_rng(11)
    t = T0 + np.arange(0, 14 * 3600, 15.0)
    kill = T0 + 8 * 3600
    since = np.where(t < kill, t - T0, t - kill)
    level = np.where(t < kill, 1.0 * GiB + 0.125 * GiB * since / 3600, 0.8 * GiB + 0.1 * GiB * since / 3600)
    gc = 0.06 * GiB * ((t % 240) / 240)
    used = np.minimum(level + gc + rng.normal(0, 0.004 * GiB, t.size), 2 * GiB)
    engine = Engine(parse_config(MEMORY))
    preds, _ = run(engine, "container_memory_working_set_bytes", MEM_LABELS, t, used)
    state = target(engine)
    assert len(state.resets.peaks) == 1 and state.resets.peaks[0][1] is True  # the kill, at the limit
    assert kill - 900 <= state.resets.last_time <= kill <= state.resets.cycle_start[0] <= kill + 60  # peak, bottom
    before = [p for p in preds if kill - 3 * 3600 < p.timestamp < kill - 1800]
    assert all(p.risk_level >= 2 for p in before)  # the leak was foreseen, through the sawtooth
    last = preds[-1]  # 0.8 + 0.6 + sawtooth: about 1.43 GiB, 0.1 GiB/h: 5-6 h left
    assert 4 * 3600 < last.ttf[0.5] < 7.5 * 3600


def test_the_daily_profile_is_fitted_from_15_second_data_within_three_days():
    rng = np.random.default_rng(2)
    t = T0 + np.arange(0, 3 * DAY, 15.0)
    shape = 0.3 * GiB * np.sin(2 * np.pi * (t % DAY) / DAY)
    used = 0.8 * GiB + shape + rng.normal(0, 0.02 * GiB, t.size)
    engine = Engine(parse_config(MEMORY))
    first_profile = None
    for i in range(0, t.size, 240):  # an hour of points at a time, then an evaluation
        engine.add_points("metrics", [Point("container_memory_working_set_bytes", MEM_LABELS, ti, vi, GAUGE)
                                      for ti, vi in zip(t[i:i + 240].tolist(), used[i:i + 240].tolist())])
        engine.evaluate()
        if first_profile is None and engine.predictors[0]._targets and target(engine).profile is not None:
            first_profile = t[min(i + 239, t.size - 1)]
    window = next(iter(engine.store.windows.values()))
    assert window.times[0] - T0 < 600  # the store holds all three days of 15 s points
    assert first_profile is not None and first_profile - T0 <= 2.5 * DAY
    offsets = target(engine).profile.offsets
    truth = 0.3 * GiB * np.sin(2 * np.pi * (np.arange(288) + 0.5) / 288)
    assert np.corrcoef(offsets, truth)[0, 1] > 0.98
    assert np.abs(offsets - truth).max() < 0.05 * GiB


def test_the_predictor_forgets_series_the_store_evicts():
    engine = Engine(parse_config(MEMORY), StoreSettings(series_ttl=3600, max_series=2))
    pods = {name: MEM_LABELS[:4] + (("pod", name),) for name in ("old", "new", "newer")}
    metric = "container_memory_working_set_bytes"

    def scrape(t, names):
        engine.add_points("metrics", [Point(metric, pods[n], t, 1.0 * GiB + (t - T0), GAUGE) for n in names])
        engine.evaluate()

    def held():
        return {dict(labels)["pod"] for labels in engine.predictors[0]._targets}

    for i in range(30):
        scrape(T0 + 60 * i, ["old", "new"])
    assert held() == {"old", "new"}
    for i in range(30, 100):  # the old pod is gone; after an hour of event time it is forgotten
        scrape(T0 + 60 * i, ["new"])
    assert held() == {"new"} and engine.store.evicted == {"idle": 1}
    for i in range(100, 110):
        scrape(T0 + 60 * i, ["newer"])
    scrape(T0 + 60 * 110, ["old"])  # back, at max_series: the least recently updated ("new") makes room
    assert engine.store.evicted == {"idle": 1, "max_series": 1}
    assert set(dict(k[1])["pod"] for k in engine.store.windows) == {"newer", "old"}
    assert held() == {"newer", "old"}
