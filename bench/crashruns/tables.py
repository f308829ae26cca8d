"""Crash runs: the kernel's tables on every node, as node_exporter exposes them: open files
(`node_filefd_allocated` against `node_filefd_maximum`), the data filesystem's inodes
(`node_filesystem_files_free` of `node_filesystem_files`) and tracked connections
(`node_nf_conntrack_entries` against `node_nf_conntrack_entries_limit`).

Added to `cluster.py` with three faults that fill one of them: a descriptor leak, a
small-file storm and a connection leak. Written before any result on them was seen. Their
random draws come from a generator of their own, so the series that came before stay the
same for every (fault, seed).

What moves them when nothing is wrong: the day's traffic (connections and sockets), the
store's restarts (its files are closed and opened again), nightly batch jobs (temp files,
connections to peers), a replacement host pulling its data, and some clusters whose daily
peak of tracked connections sits near the limit.
"""
from __future__ import annotations

import zlib

import numpy as np
from foresight.contracts.points import GAUGE

from . import shapes as sh

MIN, HOUR = 60.0, 3600.0
FS = (("device", "/dev/nvme0n1p1"), ("fstype", "ext4"), ("mountpoint", "/var/lib/store"))
SERIES = [("node_filefd_allocated", (), GAUGE),
          ("node_filefd_maximum", (), GAUGE),
          ("node_filesystem_files", FS, GAUGE),
          ("node_filesystem_files_free", FS, GAUGE),
          ("node_nf_conntrack_entries", (), GAUGE),
          ("node_nf_conntrack_entries_limit", (), GAUGE)]
# fault -> (the series that fills, the one it fills up to, or None for a drain to 0)
FILLS = {"fd-leak": ("node_filefd_allocated", "node_filefd_maximum"),
         "inode-exhaustion": ("node_filesystem_files_free", None),
         "conntrack-full": ("node_nf_conntrack_entries", "node_nf_conntrack_entries_limit")}
SMALL_FILE = 4096.0  # bytes a small file takes on disk: one block


def _rng(seed: int, fault: str, *more: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(fault.encode()), zlib.crc32(b"tables"), *more])


def cluster_draws(seed: int, fault: str) -> dict:
    """What every node of the cluster shares: the limits' policy and how busy the tables run."""
    rng = _rng(seed, fault)
    return dict(fd_policy=float(rng.choice([0.0, 0.0, 131072.0, 262144.0, 524288.0])),  # 0: the kernel's default
                fd_peak=rng.uniform(0.03, 0.5), ct_max=float(rng.choice([65536, 131072, 262144, 524288])),
                ct_peak=rng.uniform(0.1, 0.78), bytes_per_inode=float(rng.choice([16384, 16384, 65536])),
                store_file=rng.uniform(8, 64) * 2.0 ** 20, temp_share=rng.uniform(0.02, 0.25))


def node_rows(seed: int, fault: str, slot: int, t: np.ndarray, ctx: dict) -> tuple[list, np.ndarray]:
    """One node slot's rows in SERIES order, and the bytes its small files take (to come off
    the filesystem's available bytes). `ctx` holds the node's context from cluster._node:
    traffic, batch, rebal, procs, ramp, total, size, stored, fault (its dict or None),
    amp (the day's swing) and c (this module's cluster_draws)."""
    rng = _rng(seed, fault, slot)
    c, T = ctx["c"], len(t)
    f = ctx["fault"]
    kind = f["kind"] if f else None
    peak = 1.0 + ctx["amp"]  # traffic at the day's peak, about
    running = sh.startup(t, ctx["procs"], ctx["ramp"])  # the store's process, warmed up

    # open files: the host's own, the store's data files, one socket per client connection
    fd_max = c["fd_policy"] or float(np.floor(ctx["total"] / 1024.0 / 10.0))  # file-max: RAM in KiB / 10
    host_fds = rng.uniform(1500, 6000)
    store_fds = ctx["stored"] / c["store_file"] + rng.uniform(200, 800)
    sockets = max(c["fd_peak"] * fd_max - host_fds - float(np.median(store_fds)), 500.0)
    fds = (host_fds + running * (store_fds + sockets * ctx["traffic"] / peak)
           + sockets * (0.3 * ctx["batch"] + 0.2 * ctx["rebal"]))
    fds = fds * (1.0 + sh.noise(rng, T, 0.02))

    # tracked connections: follow the clients, linger a while after a restart
    ct_max = c["ct_max"]
    conns = c["ct_peak"] * ct_max * ctx["load"] * ctx["traffic"] / peak
    conns = conns * (0.6 + 0.4 * running) + ct_max * (0.05 * ctx["batch"] + 0.04 * ctx["rebal"])
    conns = conns * (1.0 + sh.noise(rng, T, 0.03))

    # inodes: the host's files, the store's, a slow creep, and a batch job's temp files
    files = float(np.floor(ctx["size"] / c["bytes_per_inode"]))
    used = (rng.uniform(0.005, 0.05) * files + ctx["stored"] / c["store_file"]
            + rng.uniform(0.0, 0.004) * files * (t - t[0]) / sh.DAY
            + c["temp_share"] * files * ctx["batch"] + files * sh.noise(rng, T, 0.0002))

    small = np.zeros(T)
    if kind in FILLS:
        k0 = int(np.searchsorted(t, f["start"]))
        done = sh.progress((t - f["start"]) / f["dur"], f["accel"])
        if kind == "fd-leak":
            fds = fds + (fd_max - fds[max(k0 - 40, 0):k0 + 1].mean()) * done
        elif kind == "conntrack-full":
            conns = conns + (ct_max - conns[max(k0 - 40, 0):k0 + 1].mean()) * done
        else:
            extra = (files - used[max(k0 - 40, 0):k0 + 1].mean()) * done
            used, small = used + extra, extra * SMALL_FILE
    fds = np.floor(np.clip(fds, 0.0, fd_max))
    conns = np.floor(np.clip(conns, 0.0, ct_max))
    free = np.floor(np.clip(files - used, 0.0, files))
    return ([fds, np.full(T, fd_max), np.full(T, files), free, conns, np.full(T, ct_max)],
            np.clip(small, 0.0, None))


def crossed(fault: str, rows: dict) -> np.ndarray:
    """Where a node's table is full: `rows` maps a series name to its values."""
    fills, limit = FILLS[fault]
    return rows[fills] <= 0.0 if limit is None else rows[fills] >= rows[limit]


__all__ = ["FILLS", "SERIES", "cluster_draws", "crossed", "node_rows"]
