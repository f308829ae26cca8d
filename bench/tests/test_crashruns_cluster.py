"""bench/crashruns/cluster.py: the held-out crash-run generator's own properties (its data,
never how Foresight scores on it). The runs looked at are short ones picked by their
metadata, each built once, so the whole file takes a few seconds."""
import functools
import itertools
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from crashruns import cluster  # noqa: E402

MIN, HOUR = 60.0, 3600.0
MEM_TOTAL, MEM_AVAIL = "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes"
CPU, LOAD = "node_cpu_seconds_total", "node_load1"
RX, TX = "node_network_receive_packets_total", "node_network_transmit_packets_total"
FS_AVAIL = "node_filesystem_avail_bytes"
FS = (("device", "/dev/nvme0n1p1"), ("fstype", "ext4"), ("mountpoint", "/var/lib/store"))
ETH0 = (("device", "eth0"),)
MANY = ("exporter-restart", "clock-skew", "node-replaced")  # the run with most confounders

# where the search for each kind of run starts: the seed that has it today, so the search
# is quick, and still finds one (slowly) if the generator changes
FIRST = {("memory-leak", MANY, 16.0): 4, ("memory-leak", (), 8.0): 12, ("disk-fill", (), 16.0): 10,
         ("cpu-hog", ("clock-skew",), 16.0): 10, ("packet-loss", ("rolling-deploy",), 16.0): 3}


@functools.lru_cache(maxsize=None)
def pick(fault, want=(), hours=16.0):
    """The first run of `fault` (by seed) that has every confounder in `want` and lasts
    less than `hours` (the data of short runs is quick to build)."""
    first = FIRST.get((fault, want, hours), 0)
    for seed in list(range(first, 200)) + list(range(first)):
        run = cluster.crash_run(fault, seed)
        names = {name for name, _ in run.confounders}
        if set(want) <= names and run.end - run.start < hours * HOUR:
            return run
    raise AssertionError(f"no {fault} run with {want} under {hours} h")


@functools.lru_cache(maxsize=None)
def collect(fault, seed):
    """({(instance, metric, other labels): (timestamps, values)}, flush stats)."""
    run = cluster.crash_run(fault, seed)
    keys, series = {}, defaultdict(lambda: ([], []))
    nows, outside, late, last_true = [], 0, 0, -np.inf
    for now, points in run.batches(300.0):
        nows.append(now)
        for p in points:
            if (p.metric, p.labels) not in keys:
                assert p.labels == tuple(sorted(p.labels))
                labels = dict(p.labels)
                assert labels.pop("job") == "node"
                instance = labels.pop("instance")
                key = (instance, p.metric, tuple(sorted(labels.items())))
                keys[(p.metric, p.labels)] = key, run.skew[instance]
            key, skew = keys[(p.metric, p.labels)]
            true = p.timestamp - skew
            outside += not (now - 300.0 - 1.0 < true <= now + 1.0)
            late += true < last_true - 2.0  # in order of true time, up to the jitter
            last_true = max(last_true, true)
            ts, vs = series[key]
            ts.append(p.timestamp)
            vs.append(p.value)
    series = {k: (np.array(ts), np.array(vs)) for k, (ts, vs) in series.items()}
    return series, dict(nows=nows, outside=outside, late=late, last_true=last_true)


def data(run):
    return collect(run.fault, run.seed)


def get(series, instance, metric, labels=()):
    return series[(instance, metric, tuple(sorted(labels)))]


def rate(ts, vs):
    """Per-second rates between scrapes, at the later scrape's timestamp."""
    return ts[1:], np.diff(vs) / np.diff(ts)


def window(ts, vs, lo, hi):
    keep = (ts >= lo) & (ts <= hi)
    return vs[keep]


def test_interface_names_order_and_determinism():
    runs = cluster.suite([3])
    assert [r.fault for r in runs] == list(cluster.FAULTS)
    assert [r.name for r in runs] == [f"{f}-s3" for f in cluster.FAULTS]
    again = cluster.crash_run("cpu-hog", 3)
    assert again == runs[2]
    first = list(itertools.islice(again.batches(), 3))
    assert first == list(itertools.islice(runs[2].batches(), 3))
    assert sum(len(points) for _, points in first) > 0
    other = cluster.crash_run("cpu-hog", 4)
    assert (other.fault_start, other.instances) != (again.fault_start, again.instances)
    assert cluster.crash_run("memory-leak", 3).fault_start != again.fault_start  # fault in the seed
    with pytest.raises(ValueError):
        cluster.crash_run("meteor", 1)


def test_flush_size_only_regroups_the_same_points():
    run = pick("memory-leak", (), 8.0)
    coarse = list(itertools.islice(run.batches(300.0), 12))  # the first hour
    fine = list(itertools.islice(run.batches(60.0), 60))
    assert [p for _, points in coarse for p in points] == [p for _, points in fine for p in points]
    assert [now for now, _ in fine] == [run.start + 60.0 * (k + 1) for k in range(60)]


def test_series_labels_kinds_and_flushes():
    run = pick("memory-leak", MANY)
    series, flushes = data(run)
    assert {inst for inst, _, _ in series} == set(run.instances)
    assert all(i.startswith("store-") and i.endswith(":9100") for i in run.instances)
    assert 4 <= len({i for i in run.instances}) <= 9
    for inst in run.instances:
        mine = {(m, labels) for i, m, labels in series if i == inst}
        assert len(mine) == 33
        cpus = {(dict(labels)["cpu"], dict(labels)["mode"]) for m, labels in mine if m == CPU}
        assert cpus == {(str(c), m) for c in range(4) for m in ("idle", "iowait", "system", "user")}
        for metric, labels in [(RX, ETH0), (TX, ETH0), ("node_network_transmit_bytes_total", ETH0),
                               ("node_disk_io_time_seconds_total", (("device", "nvme0n1"),)),
                               (FS_AVAIL, FS), ("node_filesystem_size_bytes", FS),
                               (MEM_TOTAL, ()), (MEM_AVAIL, ()), ("node_memory_Cached_bytes", ()),
                               (LOAD, ()), ("node_context_switches_total", ()),
                               ("node_filefd_allocated", ()), ("node_filefd_maximum", ()),
                               ("node_filesystem_files", FS), ("node_filesystem_files_free", FS),
                               ("node_nf_conntrack_entries", ()), ("node_nf_conntrack_entries_limit", ())]:
            assert (metric, labels) in mine
        total = get(series, inst, MEM_TOTAL)[1]
        assert np.all(total == total[0]) and total[0] in (16 * 2**30, 32 * 2**30)
        assert len(set(get(series, inst, "node_filesystem_size_bytes", FS)[1])) == 1
    # flushes: every point's true time inside its flush, in order, nothing after the end
    assert flushes["outside"] == 0 and flushes["late"] == 0
    assert flushes["nows"] == sorted(flushes["nows"]) and flushes["nows"][-1] == run.end
    assert flushes["last_true"] <= run.end + 1.0
    kinds = {p.metric: p.kind for p in next(iter(run.batches()))[1]}
    assert kinds[CPU] == kinds[RX] == kinds["node_context_switches_total"] == "counter"
    assert kinds[MEM_AVAIL] == kinds[LOAD] == kinds[FS_AVAIL] == "gauge"


def test_scrapes_every_15s_with_jitter_and_a_few_gaps():
    run = pick("memory-leak", MANY)
    series, _ = data(run)
    gaps = 0
    for inst in run.instances:
        ts = get(series, inst, MEM_AVAIL)[0]
        step = np.diff(ts)
        assert step.min() >= 13.0 - 1e-6 and abs(np.median(step) - 15.0) < 0.5
        assert np.std(step[step < 17.5]) > 0.2  # jittered, not exact
        gaps += int(np.sum(step > 20.0))
    assert 0 < gaps < 10 * len(run.instances)


def test_counters_only_fall_at_the_exporter_restart():
    run = pick("memory-leak", MANY)
    series, _ = data(run)
    restart = dict(run.confounders)["exporter-restart"]
    dropped = defaultdict(int)
    for (inst, metric, _), (ts, vs) in series.items():
        if not metric.endswith("_total"):
            continue
        falls = np.nonzero(np.diff(vs) < 0)[0]
        for k in falls:
            true = ts[k + 1] - run.skew[inst]
            assert restart - 1.0 <= true <= restart + 16.0, (inst, metric)
            assert vs[k + 1] < 0.01 * vs[k] or vs[k + 1] < 1000  # starts again from small values
            dropped[inst] += 1
    assert len(dropped) == 1 and list(dropped.values()) == [21]  # every counter of one node
    calm = pick("cpu-hog", ("clock-skew",))  # a run without the confounder: no counter falls
    assert "exporter-restart" not in {n for n, _ in calm.confounders}
    series, _ = data(calm)
    assert all(np.all(np.diff(vs) >= 0) for (_, m, _), (_, vs) in series.items() if m.endswith("_total"))


def test_cpu_mode_rates_add_to_one_per_cpu():
    run = pick("cpu-hog", ("clock-skew",))
    series, _ = data(run)
    for inst in run.instances:
        for c in "0123":
            parts = [rate(*get(series, inst, CPU, [("cpu", c), ("mode", m)]))[1]
                     for m in ("idle", "iowait", "system", "user")]
            ok = np.all(np.stack(parts) >= 0, axis=0)
            assert ok.mean() > 0.99
            assert np.abs(sum(parts)[ok] - 1.0).max() < 0.01


def test_clock_skew_offsets_one_instance():
    run = pick("cpu-hog", ("clock-skew",))
    series, _ = data(run)
    skewed = [i for i, s in run.skew.items() if s != 0.0]
    assert len(skewed) == 1 and 20.0 <= abs(run.skew[skewed[0]]) <= 90.0
    peer = next(i for i in run.instances if run.skew[i] == 0.0)

    def by_tick(inst):
        ts = get(series, inst, LOAD)[0]
        ticks = np.round((ts - run.skew[inst] - run.start) / 15.0).astype(int)
        return dict(zip(ticks.tolist(), ts.tolist()))

    a, b = by_tick(skewed[0]), by_tick(peer)
    offsets = np.array([a[k] - b[k] for k in set(a) & set(b)])
    assert np.abs(offsets - run.skew[skewed[0]]).max() <= 2.0
    # the true times of all instances sit on the same 15 s grid, up to the jitter
    for inst in run.instances:
        ts = get(series, inst, LOAD)[0] - run.skew[inst] - run.start
        assert np.abs(ts - 15.0 * np.round(ts / 15.0)).max() <= 1.001


def test_startup_ramp_rises_then_levels_off():
    run = pick("disk-fill")
    series, _ = data(run)
    checked = 0
    for inst in run.instances:
        ts, avail = get(series, inst, MEM_AVAIL)
        total = get(series, inst, MEM_TOTAL)[1][0]
        t = ts - run.skew[inst] - run.start
        if t[0] > 5.0:
            continue  # a host that joined later
        checked += 1
        assert avail[0] / total > 0.9  # ~5% used at start
        settled = window(t, avail, 30 * MIN, 55 * MIN) / total
        assert 0.45 <= settled.mean() <= 0.72  # 30-50% used (and a little page cache)
        assert settled.max() - settled.min() < 0.03  # flat once warmed up
        assert avail[0] / total - settled.mean() > 0.2
        busy = 1.0 - rate(t, get(series, inst, CPU, [("cpu", "1"), ("mode", "idle")])[1])[1]
        assert busy[(t[1:] < 4 * MIN)].mean() > busy[(t[1:] > 30 * MIN) & (t[1:] < 55 * MIN)].mean()
    assert checked >= 4


@pytest.mark.parametrize("want, hours", [(MANY, 16.0), ((), 8.0)])
def test_memory_leak_crashes_at_one_to_three_percent(want, hours):
    run = pick("memory-leak", want, hours)
    series, _ = data(run)
    assert run.faulty_instances and 0.9 * HOUR <= run.crash - run.fault_start <= 9 * HOUR
    assert 3 * HOUR <= run.fault_start - run.start <= 40 * HOUR and run.end == run.crash
    at_crash, leaked = [], []
    for inst in run.instances:
        ts, avail = get(series, inst, MEM_AVAIL)
        frac = avail / get(series, inst, MEM_TOTAL)[1][0]
        true = ts - run.skew[inst]
        assert frac[true < run.fault_start].min() > 0.2  # nobody near the limit before the fault
        if inst in run.faulty_instances:
            at_crash.append(frac[-1])
            assert abs(true[-1] - run.crash) <= 1.0
            leaked.append(window(true, frac, run.fault_start - 30 * MIN, run.fault_start).mean() - frac[-1])
    assert min(at_crash) <= 0.03 and min(at_crash) > 0.0
    assert max(leaked) > 0.2 and min(leaked) > 0.02  # a node that starts leaking later leaks less


def test_packet_loss_cuts_the_faulty_nodes_packets_by_ninety_percent():
    run = pick("packet-loss", ("rolling-deploy",))
    series, _ = data(run)
    assert 20 * MIN <= run.crash - run.fault_start <= 120 * MIN
    fs = run.fault_start
    for inst in run.instances:
        for metric in (RX, TX):
            ts, vs = get(series, inst, metric, ETH0)
            t, r = rate(ts - run.skew[inst], vs)
            if t[0] > fs - 10 * MIN or t[-1] < fs + 14 * MIN:
                continue  # a host that joined or left around the fault
            before = np.median(window(t, r, fs - 10 * MIN, fs))
            after = np.median(window(t, r, fs + 4 * MIN, fs + 14 * MIN))
            if inst in run.faulty_instances:
                assert after <= 0.1 * before
            else:
                assert 0.4 * before <= after <= 1.15 * before  # the peers lose their share with it


def test_cpu_hog_takes_the_cpus_and_the_load():
    run = pick("cpu-hog", ("clock-skew",))
    series, _ = data(run)
    assert 30 * MIN <= run.crash - run.fault_start <= 150 * MIN
    for inst in run.faulty_instances:
        hogged = 0
        for c in "0123":
            ts, vs = get(series, inst, CPU, [("cpu", c), ("mode", "idle")])
            t, idle = rate(ts - run.skew[inst], vs)
            t, user = rate(ts - run.skew[inst], get(series, inst, CPU, [("cpu", c), ("mode", "user")])[1])
            late = t > run.fault_start + 10 * MIN
            assert (1 - idle[t < run.fault_start]).mean() < 0.8
            hogged += idle[late].max() < 0.06 and user[late].min() > 0.9
        assert hogged >= 3
        ts, load = get(series, inst, LOAD)
        hogged_load = window(ts - run.skew[inst], load, run.fault_start + 10 * MIN, run.end)
        assert np.median(hogged_load) >= 2 * 4 * 0.8  # 2-4 times the cpu count
        assert load.max() <= 4 * 4 * 1.4


def test_disk_fill_ends_when_the_filesystem_is_full():
    run = pick("disk-fill")
    series, _ = data(run)
    assert 1.9 * HOUR <= run.crash - run.fault_start <= 13 * HOUR
    last = []
    for inst in run.instances:
        ts, avail = get(series, inst, FS_AVAIL, FS)
        size = get(series, inst, "node_filesystem_size_bytes", FS)[1][0]
        true = ts - run.skew[inst]
        if inst in run.faulty_instances:
            last.append(avail[-1])
            assert window(true, avail, run.fault_start - 10 * MIN, run.fault_start).min() > 0.1 * size
        else:
            assert avail.min() > 0.1 * size  # never full without the fault
        assert np.all(avail % 4096 == 0)
    assert min(last) == 0.0


def test_none_runs_are_healthy_controls():
    for run in [cluster.crash_run("none", seed) for seed in range(6)]:
        assert run.fault_start is None and run.crash is None and run.faulty_instances == []
        assert 24 * HOUR <= run.end - run.start <= 60 * HOUR


def test_confounders_vary_by_run_and_all_occur():
    runs = cluster.suite(range(3))
    seen = {name for r in runs for name, _ in r.confounders}
    assert seen == set(cluster.CONFOUNDERS)
    assert len({tuple(sorted({n for n, _ in r.confounders})) for r in runs}) > 8
    for r in runs:
        assert all(r.start <= t <= r.end for _, t in r.confounders)
        if r.fault_start is not None:  # restarts and host churn come before the fault
            for name, t in r.confounders:
                if name in ("rolling-deploy", "node-replaced"):
                    assert t < r.fault_start - 30 * MIN


def test_node_replacement_starts_a_fresh_host():
    run = pick("memory-leak", MANY)
    series, _ = data(run)
    gone = dict(run.confounders)["node-replaced"]
    new = f"store-{len(run.instances)}:9100"  # the one name past the cluster's first hosts
    assert new in run.instances
    first = {i: get(series, i, MEM_AVAIL)[0][0] - run.skew[i] for i in run.instances}
    last = {i: get(series, i, MEM_AVAIL)[0][-1] - run.skew[i] for i in run.instances}
    old = [i for i in run.instances if abs(last[i] - gone) < 20.0]
    assert len(old) == 1 and 2 * MIN - 20 <= first[new] - last[old[0]] <= 10 * MIN + 20
    avail = get(series, new, MEM_AVAIL)[1] / get(series, new, MEM_TOTAL)[1][0]
    assert avail[0] > 0.9 and avail[200] < avail[0] - 0.2  # its own start-up ramp
    assert get(series, new, CPU, [("cpu", "0"), ("mode", "idle")])[1][0] < 100.0  # fresh counters


def test_rolling_deploy_restarts_each_node_in_turn():
    run = pick("packet-loss", ("rolling-deploy",))
    series, _ = data(run)
    begin = dict(run.confounders)["rolling-deploy"]
    drops = []
    for inst in run.instances:
        ts, avail = get(series, inst, MEM_AVAIL)
        frac, true = avail / get(series, inst, MEM_TOTAL)[1][0], ts - run.skew[inst]
        if true[0] > begin or true[-1] < begin + 60 * MIN:
            continue  # a host that came or went around the deploy
        span = (true >= begin - 20.0) & (true <= begin + 50 * MIN)
        before = frac[(true > begin - 15 * MIN) & (true < begin - 20.0)].mean()
        k = np.argmax(frac[span])
        assert frac[span][k] > before + 0.15  # the store's memory is freed, then comes back
        assert frac[span][-1] < before + 0.05
        drops.append(true[span][k])
    assert len(drops) >= 3 and len(set(np.round(drops, -1))) == len(drops)  # one after another


def test_daily_cycle_and_autocorrelated_noise():
    runs = (cluster.crash_run("none", seed) for seed in [5] + list(range(60)))
    run = next(r for r in runs if len(r.instances) <= 5 and r.end - r.start < 32 * HOUR)
    series, _ = data(run)
    inst = run.instances[0]
    ts, vs = get(series, inst, RX, ETH0)
    t, r = rate(ts - run.skew[inst], vs)
    hour = (t / HOUR) % 24
    assert r[(hour > 13) & (hour < 17)].mean() > 1.1 * r[(hour > 1) & (hour < 5)].mean()
    # the noise left after an hour's moving average is autocorrelated, not white
    smooth = np.convolve(r, np.ones(240) / 240, mode="same")
    rest = (r - smooth)[240:-240]
    assert np.corrcoef(rest[:-1], rest[1:])[0, 1] > 0.3


# the kernel's tables (crashruns/tables.py): (fault, the series that fills, its limit or None)
TABLES = [("fd-leak", "node_filefd_allocated", "node_filefd_maximum", ()),
          ("inode-exhaustion", "node_filesystem_files_free", None, FS),
          ("conntrack-full", "node_nf_conntrack_entries", "node_nf_conntrack_entries_limit", ())]


def used_share(series, inst, metric, limit, labels):
    """The table's used share at each scrape: filled over limit, or 1 - free over total."""
    ts, vs = get(series, inst, metric, labels)
    if limit is None:
        return ts, 1.0 - vs / get(series, inst, "node_filesystem_files", labels)[1]
    return ts, vs / get(series, inst, limit, labels)[1]


@pytest.mark.parametrize("fault, metric, limit, labels", TABLES)
def test_each_table_fills_to_its_limit_on_the_faulty_node_only(fault, metric, limit, labels):
    run = pick(fault)
    series, _ = data(run)
    low, high = cluster.TO_CRASH[fault]
    assert 0.9 * low <= run.crash - run.fault_start <= 1.7 * high
    full = []
    for inst in run.instances:
        ts, share = used_share(series, inst, metric, limit, labels)
        true = ts - run.skew[inst]
        assert np.all(share >= 0.0) and np.all(share <= 1.0)
        assert np.all(get(series, inst, metric, labels)[1] % 1 == 0)  # counts of things
        if inst in run.faulty_instances:
            full.append(share[-1])
            assert window(true, share, run.fault_start - 10 * MIN, run.fault_start).max() < 0.97
        else:
            assert share.max() < 1.0  # never full without the fault
    assert max(full) == 1.0


def test_tables_follow_traffic_restarts_and_batches():
    run = pick("packet-loss", ("rolling-deploy",))
    series, _ = data(run)
    deploy = dict(run.confounders)["rolling-deploy"]
    moved = 0
    for inst in run.instances:
        ts, fds = get(series, inst, "node_filefd_allocated")
        true = ts - run.skew[inst]
        assert np.ptp(fds) > 0.05 * fds.mean()  # the day's traffic moves the sockets
        assert len(set(get(series, inst, "node_filefd_maximum")[1])) == 1
        assert len(set(get(series, inst, "node_nf_conntrack_entries_limit")[1])) == 1
        if true[0] > deploy - 30 * MIN or true[-1] < deploy + 60 * MIN:
            continue  # a host that came or went around the deploy
        before = window(true, fds, deploy - 30 * MIN, deploy - MIN).mean()
        moved += window(true, fds, deploy, deploy + 30 * MIN).min() < 0.97 * before  # its files closed
    assert moved >= 3  # the nodes restart in turn, a few minutes apart


def test_the_tables_draws_leave_every_other_series_as_it_was(monkeypatch):
    before = cluster.crash_run("memory-leak", 12)
    points = [p for _, batch in itertools.islice(before.batches(), 30) for p in batch]
    original = cluster.tables._rng
    monkeypatch.setattr(cluster.tables, "_rng", lambda seed, fault, *more: original(seed + 1000, fault, *more))
    again = cluster.crash_run("memory-leak", 12)
    moved = [p for _, batch in itertools.islice(again.batches(), 30) for p in batch]
    names = {name for name, _, _ in cluster.tables.SERIES}
    assert again == before
    assert ([p for p in moved if p.metric not in names] == [p for p in points if p.metric not in names])
    assert [p for p in moved if p.metric in names] != [p for p in points if p.metric in names]
