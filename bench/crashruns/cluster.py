"""Crash runs: a simulated cluster of a small distributed data store, as node_exporter
exposes it and Prometheus scrapes it every 15 s. The cluster starts, lives a while among
normal confounders (rolling deploys, nightly batches, exporter restarts, clock skew, node
churn, compaction), then gets one injected fault that ends in a crash, or none (a
healthy control run).

A held-out evaluation generator: written before anyone saw how Foresight scores on it,
and independently of `loadgen/` and `bench/exhaustion/generator2.py` (its own shapes are
in `shapes.py`; the kernel tables and their faults are in `tables.py`). Everything follows
from (fault, seed). A run's arrays are built per node
with numpy; `crash_run` keeps only what the run is (times, instances, confounders) and
`CrashRun.batches` builds the arrays again and turns them into points a flush at a time,
so a suite of many runs holds no data.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from foresight.contracts.points import COUNTER, GAUGE, Point

from . import shapes as sh
from . import tables

FAULTS = ("memory-leak", "packet-loss", "cpu-hog", "disk-fill", "fd-leak", "inode-exhaustion", "conntrack-full",
          "none")
LEAKS = ("memory-leak", "disk-fill", *tables.FILLS)  # crash where the resource runs out
CONFOUNDERS = ("rolling-deploy", "nightly-batch", "exporter-restart", "clock-skew",
               "node-replaced", "fs-compaction")
STEP, MIN, HOUR, GIB = 15.0, 60.0, 3600.0, 2.0 ** 30
NCPU = 4
MODES = ("idle", "iowait", "system", "user")
FS = tables.FS  # the data filesystem's labels
# Time from fault start to crash. The leaks and fills crash where the data cross their
# limit, close to the drawn time; packet loss and the cpu hog crash at the drawn time.
TO_CRASH = {"memory-leak": (1 * HOUR, 8 * HOUR), "packet-loss": (20 * MIN, 120 * MIN),
            "cpu-hog": (30 * MIN, 150 * MIN), "disk-fill": (2 * HOUR, 12 * HOUR),
            "fd-leak": (1 * HOUR, 8 * HOUR), "inode-exhaustion": (2 * HOUR, 12 * HOUR),
            "conntrack-full": (30 * MIN, 4 * HOUR)}
# (metric, labels besides job and instance, kind): the rows of a node's value array
SERIES = ([("node_memory_MemTotal_bytes", (), GAUGE),
           ("node_memory_MemAvailable_bytes", (), GAUGE),
           ("node_memory_Cached_bytes", (), GAUGE)]
          + [("node_cpu_seconds_total", (("cpu", str(c)), ("mode", m)), COUNTER)
             for c in range(NCPU) for m in MODES]
          + [("node_load1", (), GAUGE),
             ("node_network_receive_packets_total", (("device", "eth0"),), COUNTER),
             ("node_network_transmit_packets_total", (("device", "eth0"),), COUNTER),
             ("node_network_transmit_bytes_total", (("device", "eth0"),), COUNTER),
             ("node_disk_io_time_seconds_total", (("device", "nvme0n1"),), COUNTER),
             ("node_filesystem_avail_bytes", FS, GAUGE),
             ("node_filesystem_size_bytes", FS, GAUGE),
             ("node_context_switches_total", (), COUNTER)]
          + tables.SERIES)
ROW = {name: i for i, (name, _, _) in enumerate(SERIES)}  # (used for the one-row metrics)


@dataclass
class _Host:
    """One instance's data: the grid rows it was scraped at, its timestamps, its values."""
    instance: str
    rows: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray  # [series, rows]
    meta: list  # (metric, labels, kind) per series


@dataclass
class CrashRun:
    """One run. Its true times are the scheduled scrapes, every 15 s from `start`; a point's
    timestamp is its scrape's true time plus up to a second of jitter plus its node's skew.
    `confounders` holds (name, true time) of each one, `skew` an offset per instance."""
    name: str
    fault: str
    seed: int
    start: float
    fault_start: float | None
    crash: float | None
    end: float
    faulty_instances: list[str]
    instances: list[str]
    confounders: list[tuple[str, float]]
    skew: dict[str, float]

    def batches(self, every: float = 300.0) -> Iterator[tuple[float, list[Point]]]:
        """The run's points in order of true time, grouped into flushes of `every` seconds
        (as an OpenTelemetry Collector exports them); yields (true time at the end of the
        flush, points). Timestamps carry each node's clock skew."""
        _, ticks, hosts = _simulate(self.fault, self.seed, self.start)
        # flush b holds the scrapes in (start + b*every, start + (b+1)*every]; the first
        # one also holds the scrape at start
        group = np.maximum(np.ceil((ticks - self.start) / every - 1e-9) - 1, 0).astype(int)
        for b in range(int(group[-1]) + 1):
            k0, k1 = np.searchsorted(group, [b, b + 1])
            pieces = []
            for order, host in enumerate(hosts):
                i0, i1 = np.searchsorted(host.rows, [k0, k1])
                rows = host.rows[i0:i1].tolist()
                stamps = host.timestamps[i0:i1].tolist()
                values = host.values[:, i0:i1].T.tolist()
                pieces.extend((k, order, ts, v) for k, ts, v in zip(rows, stamps, values))
            pieces.sort(key=lambda p: (p[0], p[1]))
            points = []
            for _, order, ts, values in pieces:
                points.extend(Point(metric, labels, ts, v, kind)
                              for (metric, labels, kind), v in zip(hosts[order].meta, values))
            yield min(self.start + (b + 1) * every, self.end), points


def crash_run(fault: str, seed: int, start: float = 1_767_225_600.0) -> CrashRun:
    """The run of `fault` for `seed`: what it is, with its data built as it is iterated."""
    return _simulate(fault, seed, start)[0]


def suite(seeds) -> list[CrashRun]:
    """Every fault for every seed: seed by seed, faults in the order of FAULTS."""
    return [crash_run(fault, int(seed)) for seed in seeds for fault in FAULTS]


def _simulate(fault: str, seed: int, start: float):
    """The run, its grid of scrape times up to the end, and each instance's data."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}: one of {FAULTS}")
    rng = np.random.default_rng([int(seed), zlib.crc32(fault.encode())])
    n = int(rng.integers(4, 9))
    if fault == "none":
        fault_start = nominal = None
        horizon = start + rng.uniform(24, 60) * HOUR
    else:
        fault_start = start + rng.uniform(3, 40) * HOUR
        nominal = rng.uniform(*TO_CRASH[fault])
        horizon = fault_start + 1.6 * nominal + HOUR  # room for a leak or fill running late
    t = start + STEP * np.arange(int((horizon - start) // STEP) + 1)
    c, slots, events = _plan(rng, fault, n, t, fault_start, nominal)
    c.update(seed=int(seed), fault=fault, tables=tables.cluster_draws(seed, fault))  # no draw from rng
    values, instants = zip(*[_node(rng, t, c, s) for s in slots])

    # the crash: where a leak or a fill crosses its limit first, else at the drawn time
    if fault in LEAKS:
        hits = []
        for s in slots:
            if s["fault"] is not None:
                k0 = int(np.searchsorted(t, s["fault"]["start"]))
                full = _out_of(fault, values[s["i"]][:, k0:], c["level"] * s["total"])
                below = np.nonzero(full)[0]
                hits += [k0 + int(below[0])] if below.size else []
        if not hits:
            raise RuntimeError(f"{fault} seed {seed}: no node reached its limit")
        kc = min(hits)
        crash = float(t[kc])
    elif fault == "none":
        crash, kc = None, len(t) - 1
    else:
        crash = fault_start + nominal
        kc = int(np.searchsorted(t, crash, side="right")) - 1

    hosts, skews = [], {}
    for s in slots:
        missed = s["missed"].copy()
        missed[max(kc - 40, 0):] = False  # the last ten minutes before the crash are all there
        present = ~missed & ~s["down"]
        present[kc + 1:] = False
        for name, lo, hi, skew in s["hosts"]:
            rows = lo + np.nonzero(present[lo:hi])[0]
            if rows.size == 0:
                continue
            base = (("instance", f"{name}:9100"), ("job", "node"))
            meta = [(metric, tuple(sorted(base + extra)), kind) for metric, extra, kind in SERIES]
            stamps = np.round(instants[s["i"]][rows] + skew, 3)
            hosts.append(_Host(f"{name}:9100", rows, stamps, values[s["i"]][:, rows], meta))
            skews[f"{name}:9100"] = float(skew)
    end = float(t[kc])
    run = CrashRun(
        name=f"{fault}-s{seed}", fault=fault, seed=int(seed), start=float(t[0]),
        fault_start=fault_start, crash=crash, end=end,
        faulty_instances=[f"{s['faulty_name']}:9100" for s in slots if s["fault"] is not None],
        instances=[h.instance for h in hosts],
        confounders=sorted(((name, x) for name, x in events if x <= end), key=lambda e: e[1]),
        skew=skews)
    return run, t[:kc + 1], hosts


def _out_of(fault: str, values: np.ndarray, memory_limit: float) -> np.ndarray:
    """Where a node's resource has run out: its rows (SERIES order) over some scrapes."""
    if fault == "memory-leak":
        return values[ROW["node_memory_MemAvailable_bytes"]] <= memory_limit
    if fault == "disk-fill":
        return values[ROW["node_filesystem_avail_bytes"]] <= 0.0
    rows = {name: values[len(SERIES) - len(tables.SERIES) + i] for i, (name, _, _) in enumerate(tables.SERIES)}
    return tables.crossed(fault, rows)


def _plan(rng, fault, n, t, fault_start, nominal):
    """Cluster-wide draws, each node's draws and the confounders' times."""
    start, last = float(t[0]), float(t[-1])
    c = dict(n=n, peak_hour=rng.uniform(13, 17), peakiness=rng.uniform(0.3, 1.8),
             amp=rng.uniform(0.15, 0.6), busy=rng.uniform(0.12, 0.35), io=rng.uniform(0.03, 0.15),
             pps=rng.uniform(2e3, 2.5e4), pkt_size=rng.uniform(350, 1200),
             batch_cpu=rng.uniform(0.2, 0.4), batch_io=rng.uniform(0.5, 0.85),
             fs_size=float(rng.choice([480, 960, 1920])) * GIB, level=rng.uniform(0.01, 0.025),
             ramp=rng.uniform(10, 20) * MIN, fresh=bool(rng.random() < 0.5),
             batches=[], rebalance=[], compactions=[], lossy=[])
    chosen = set(rng.choice(CONFOUNDERS, size=int(rng.integers(2, 6)), replace=False).tolist())
    # process and host restarts stay clear of the fault; the rest may come at any time
    calm_end = fault_start - 45 * MIN if fault_start else last - 2 * HOUR
    late_end = fault_start + 0.5 * nominal if fault_start else last - 30 * MIN
    events, deploys = [], {}
    restart = replaced = skewed = None
    skew = 0.0
    if "rolling-deploy" in chosen:  # the store restarts node by node, a few minutes apart
        gaps = rng.uniform(2, 6, n) * MIN
        t0 = rng.uniform(start + HOUR, max(start + HOUR, calm_end - gaps.sum() - 15 * MIN))
        times = t0 + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
        deploys = {int(i): float(x) for i, x in zip(rng.permutation(n), times)}
        events.append(("rolling-deploy", float(t0)))
    if "nightly-batch" in chosen:  # every night at about the same hour (UTC)
        hour, day0 = rng.uniform(0.5, 4.0), np.floor(start / sh.DAY) * sh.DAY
        for d in range(int((last - day0) // sh.DAY) + 1):
            b = day0 + d * sh.DAY + hour * HOUR + rng.uniform(-10, 10) * MIN
            if start + HOUR <= b <= last:
                c["batches"].append((b, b + rng.uniform(30, 60) * MIN))
                events.append(("nightly-batch", float(b)))
    if "exporter-restart" in chosen:
        restart = (int(rng.integers(n)), rng.uniform(start + HOUR, late_end))
        events.append(("exporter-restart", float(restart[1])))
    if "clock-skew" in chosen:  # one node's clock is off by a constant
        skewed, skew = int(rng.integers(n)), round(float(rng.choice([-1, 1]) * rng.uniform(20, 90)), 3)
        events.append(("clock-skew", start))
    if "node-replaced" in chosen:  # a host goes away; a new one joins and takes its data
        replaced = (int(rng.integers(n)), rng.uniform(start + HOUR, calm_end - HOUR))
        down, rebalance = rng.uniform(2, 10) * MIN, rng.uniform(20, 60) * MIN
        joined = replaced[1] + down
        c["rebalance"].append((joined, joined + rebalance))
        events.append(("node-replaced", float(replaced[1])))
    if "fs-compaction" in chosen:  # the store's data grows faster and compacts every few hours
        x = start + rng.uniform(1, 3) * HOUR
        while x < last:
            c["compactions"].append(float(x))
            events.append(("fs-compaction", float(x)))
            x += rng.uniform(2, 6) * HOUR

    count = 0 if fault == "none" else min(n - 2, 1 + int(rng.random() < 0.35) + int(rng.random() < 0.12))
    faulty = [int(i) for i in rng.choice(n, size=count, replace=False)]
    total = float(rng.choice([16, 32]))
    slots = []
    for i in range(n):
        s = dict(i=i, total=(total if rng.random() < 0.85 else 48 - total) * GIB,
                 kernel=rng.uniform(0.025, 0.035), cache=rng.uniform(0.15, 0.35),
                 cache_tau=rng.uniform(1, 3) * HOUR, ramp=c["ramp"] * rng.uniform(0.9, 1.1),
                 load=rng.uniform(0.8, 1.2), amp=rng.uniform(0.85, 1.15), batch=rng.uniform(0.7, 1.0),
                 warm=rng.uniform(0.2, 0.45), warm_tau=rng.uniform(3, 8) * MIN,
                 spike=rng.uniform(0.3, 0.5), dip=rng.uniform(0.6, 0.85), sys_share=rng.uniform(0.18, 0.3),
                 tx_ratio=rng.uniform(0.9, 1.1), fs_used=rng.uniform(0.2, 0.5),
                 fs_slow=rng.uniform(0.002, 0.01) / sh.DAY, fs_fast=rng.uniform(0.05, 0.15) / sh.DAY,
                 keep=rng.uniform(0.1, 0.4), lag=rng.uniform(0, 10) * MIN,
                 uptime=rng.uniform(60, 300) if c["fresh"] else rng.uniform(1, 40) * sh.DAY,
                 boots=[start - rng.uniform(0, 60)], deploy=deploys.get(i), fault=None, resets=[])
        s["used"] = rng.uniform(0.30, 0.50) - s["kernel"] - 0.08 * s["cache"]  # the store's own
        # missed scrapes: a few short gaps; and a down mask for exporter and host outages
        s["missed"] = np.zeros(len(t), dtype=bool)
        for k in rng.integers(20, len(t) - 1, size=int(rng.integers(1, 6))):
            s["missed"][k:k + int(rng.integers(1, 7))] = True
        s["down"] = np.zeros(len(t), dtype=bool)
        name = f"store-{i + 1}"
        s["hosts"] = [(name, 0, len(t), skew if i == skewed else 0.0)]
        if restart and restart[0] == i:
            k = int(np.searchsorted(t, restart[1]))
            s["down"][max(k - int(rng.integers(1, 4)), 0):k] = True
            s["resets"].append(k)
        if replaced and replaced[0] == i:
            k_gone, k_new = (int(np.searchsorted(t, x)) for x in (replaced[1], joined))
            s["down"][k_gone:k_new] = True
            new = f"store-{n + 1}"
            s["hosts"] = [(name, 0, k_gone, s["hosts"][0][3]), (new, k_new, len(t), 0.0)]
            s.update(joined=joined, rebalance=rebalance, boots=s["boots"] + [joined])
            s["resets"].append(k_new)
            name = new
        s["faulty_name"] = name  # the host in this slot when the fault starts
        slots.append(s)
    for j, i in enumerate(faulty):  # the first faulty node crashes near the drawn time
        late = j > 0 and fault in LEAKS
        offset = rng.uniform(0, 0.3) * nominal if late else rng.uniform(0, 5 * MIN) * j
        slots[i]["fault"] = dict(
            kind=fault, start=fault_start + offset, dur=nominal * (rng.uniform(1.1, 1.6) if late else 1.0),
            accel=0.0 if rng.random() < 0.5 else rng.uniform(1.0, 3.0),
            onset=rng.uniform(30, 180), loss_rx=rng.uniform(0.92, 0.99), loss_tx=rng.uniform(0.92, 0.99),
            hog=rng.uniform(2.0, 4.0), extra_io=rng.uniform(0.1, 0.3), extra_wait=rng.uniform(0.02, 0.05))
        if fault == "packet-loss":
            f = slots[i]["fault"]
            c["lossy"].append((i, f["start"], f["onset"], 0.5 * (f["loss_rx"] + f["loss_tx"])))
    return c, slots, events


def _node(rng, t, c, s):
    """One node slot's series on the whole grid (rows in SERIES order) and the instants it
    was really read at (scheduled time plus up to a second of jitter)."""
    T, n = len(t), c["n"]
    at = t + rng.uniform(-1.0, 1.0, T)
    f = s["fault"]
    kind = f["kind"] if f else None
    h = sh.ramp_to(t, f["start"], f["onset"]) if kind in ("packet-loss", "cpu-hog") else np.zeros(T)
    deploys = [s["deploy"]] if s["deploy"] is not None else []
    procs = s["boots"] + deploys  # the store process (re)starts: memory ramps up again
    day = sh.daily(t, c["peak_hour"], c["peakiness"])
    traffic = np.clip(1.0 + c["amp"] * s["amp"] * day + sh.noise(rng, T, 0.05), 0.15, None)
    batch = s["batch"] * sh.window(t, c["batches"], 3 * MIN)
    rebal = sh.window(t, c["rebalance"], 2 * MIN)
    newcomer = "joined" in s

    # memory, as fractions of MemTotal; part of the page cache (dirty, mapped) is not
    # available, and memory pressure evicts the page cache before anything else
    cache = 0.01 + s["cache"] * (1.0 - np.exp(-sh.since(t, s["boots"]) / s["cache_tau"]))
    cache = (cache * (1.0 + 0.1 * c["amp"] * day) + sh.noise(rng, T, 0.003)
             + 0.1 * s["batch"] * sh.fill_drain(t, c["batches"], 10 * MIN, 2 * HOUR))
    used = 0.02 + (s["used"] - 0.02) * sh.startup(t, procs, s["ramp"])
    used = used * (1.0 + 0.02 * c["amp"] * day) + sh.noise(rng, T, 0.004)

    def memory(used):
        room = 1.0 - s["kernel"] - used
        cached = np.clip(cache, 0.003, np.maximum(room - 0.01, 0.003))
        return cached, np.maximum(room - 0.08 * cached, 0.0)

    if kind == "memory-leak":  # the leak takes the room there was before it, and a bit more
        k0 = int(np.searchsorted(t, f["start"]))
        room = 1.0 - s["kernel"] - used[max(k0 - 40, 0):k0 + 1].mean()
        used = used + (room - c["level"]) * sh.progress((t - f["start"]) / f["dur"], f["accel"])
    cached, avail = memory(used)

    # disk busy fraction and cpu busy
    warm = s["warm"] * sh.bumps(t, s["boots"], s["warm_tau"]) + s["spike"] * sh.bumps(t, deploys, 90.0)
    disk = (c["io"] * s["load"] * traffic + c["batch_io"] * batch + 0.2 * sh.bumps(t, deploys, 120.0)
            + sh.noise(rng, T, 0.01) + (0.35 if newcomer else 0.1) * rebal)
    if kind == "disk-fill":
        disk = disk + f["extra_io"] * sh.ramp_to(t, f["start"], 5 * MIN)
    disk = np.clip(disk, 0.0, 1.0)
    busy = (c["busy"] * s["load"] * traffic + warm + c["batch_cpu"] * batch + 0.05 * rebal
            + sh.noise(rng, T, 0.015))
    wait_extra = f["extra_wait"] * h if kind == "packet-loss" else 0.0  # retransmits, slow peers
    hogged = rng.choice(NCPU, size=int(rng.integers(3, NCPU + 1)), replace=False) if kind == "cpu-hog" else []
    rows, run, wait = [], np.zeros(T), np.zeros(T)
    for cpu in range(NCPU):
        b = np.clip(busy * (1.0 + sh.noise(rng, T, 0.1)) + (0.015 if cpu == 0 else 0.0), 0.005, 0.97)
        iow = np.clip(0.002 + 0.05 * disk * (1.0 + sh.noise(rng, T, 0.2)) + wait_extra, 0.0, 0.4)
        system = b * s["sys_share"]
        user = b - system
        if cpu in hogged:  # a runaway process takes the cpu: user near 100%, idle near 0
            top = rng.uniform(0.95, 0.995)
            user, system, iow = user * (1 - h) + (top - 0.02) * h, system * (1 - h) + 0.02 * h, iow * (1 - h)
        scale = np.minimum(1.0, 0.998 / (user + system + iow))
        user, system, iow = user * scale, system * scale, iow * scale
        rows += [1.0 - user - system - iow, iow, system, user]  # MODES order
        run, wait = run + user + system, wait + iow
    runnable = 1.15 * run + 2.0 * wait
    if kind == "cpu-hog":  # the hog's threads queue up behind each other
        runnable = runnable * (1 - h) + f["hog"] * NCPU * h
    runnable = runnable * (1.0 + sh.noise(rng, T, 0.08))
    load1 = np.round(np.maximum(sh.ewma(runnable, 1.0 - np.exp(-STEP / 60.0)), 0.0), 2)

    # network: packets dip for a minute as the store restarts; a replacement host pulls
    # its data from the others; packet loss also costs the peers their share of traffic
    dip = 1.0 - s["dip"] * sh.window(t, [(d, d + MIN) for d in deploys], 5.0)
    rx = c["pps"] * s["load"] * traffic * dip * (1.0 + sh.noise(rng, T, 0.03))
    tx = rx * s["tx_ratio"] * (1.0 + sh.noise(rng, T, 0.02))
    if newcomer:
        rx = rx * (1.0 + 2.0 * rebal)
    else:
        tx = tx * (1.0 + 1.5 * rebal / (n - 1))
    for i, begin, onset, loss in c["lossy"]:
        lost = sh.ramp_to(t, begin, onset)
        if i == s["i"]:
            rx, tx = rx * (1.0 - f["loss_rx"] * lost), tx * (1.0 - f["loss_tx"] * lost)
        else:
            rx = rx * (1.0 - 0.8 * loss * lost / (n - 1))
            tx = tx * (1.0 - 0.8 * loss * lost / (n - 1)) * (1.0 + 0.03 * lost)
    if kind == "cpu-hog":
        rx, tx = rx * (1.0 - 0.25 * h), tx * (1.0 - 0.25 * h)
    tx_bytes = tx * c["pkt_size"] * (1.0 + sh.noise(rng, T, 0.04))
    # the store's threads switch a lot; a spinning hog only adds its preemptions
    hog = h if kind == "cpu-hog" else 0.0
    switches = NCPU * (900.0 + 12000.0 * np.clip(busy, 0.0, 1.0) + 1500.0 * hog) + 0.3 * (rx + tx)
    switches = np.maximum(switches * (1.0 + sh.noise(rng, T, 0.03)), 0.0)

    # the data filesystem: slow growth, or faster growth with compactions; ext4 keeps 5%
    # for root, which the store cannot use; a replacement host fills up as it rebalances
    size = c["fs_size"]
    if c["compactions"]:
        compactions = [x + s["lag"] for x in c["compactions"]]  # not all nodes at once
        written = sh.sawtooth(t, s["fs_fast"] * size, compactions, s["keep"], 10 * MIN)
    else:
        written = s["fs_slow"] * size * (t - t[0])
    stored = s["fs_used"] * size + written + size * sh.noise(rng, T, 0.0003)
    if newcomer:
        stored = np.where(t >= s["joined"], stored * sh.ramp_to(t, s["joined"], s["rebalance"]), stored)
    kernel_tables, small_files = tables.node_rows(
        c["seed"], c["fault"], s["i"], t,
        dict(c=c["tables"], traffic=traffic, batch=batch, rebal=rebal, procs=procs, ramp=s["ramp"], total=s["total"],
             size=size, stored=stored, fault=f, amp=c["amp"] * s["amp"], load=s["load"]))
    fs_avail = 0.95 * size - stored - small_files
    if kind == "disk-fill":
        k0 = int(np.searchsorted(t, f["start"]))
        room = fs_avail[max(k0 - 40, 0):k0 + 1].mean()
        fs_avail = fs_avail - room * sh.progress((t - f["start"]) / f["dur"], f["accel"])
    fs_avail = np.floor(np.maximum(fs_avail, 0.0) / 4096.0) * 4096.0

    def counter(rate, quantum):
        return sh.counter(rate, at, rate[0] * s["uptime"], s["resets"], quantum)

    total = s["total"]
    out = [np.full(T, total), np.floor(avail * total / 1024.0) * 1024.0,
           np.floor(cached * total / 1024.0) * 1024.0]
    out += [counter(r, 0.01) for r in rows]
    out += [load1, counter(rx, 1.0), counter(tx, 1.0), counter(tx_bytes, 1.0), counter(disk, 0.001),
            fs_avail, np.full(T, size), counter(switches, 1.0)]
    return np.vstack(out + kernel_tables), at
