"""Development aid: per-file view of detections at one threshold (TP windows, FP rows), and
a per-file comparison of two variants' NAB points (what a change costs, and where).

`scored` maps '<category>/<file>.csv' to a score array (0 where there is none); pass only
half A's files when choosing defaults (split.py)."""
import csv
import json
import math

import numpy as np


def per_file(nab_dir, scored, thr):
    """scored: {rel: score array}. Prints window hits and false-positive rows per file."""
    wins = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    tot_tp = tot_fn = tot_fp = 0
    for rel, wl in sorted(wins.items()):
        if rel not in scored:
            continue
        ts = [r[0] for r in csv.reader(open(nab_dir / "data" / rel))][1:]
        idx = {t: i for i, t in enumerate(ts)}
        n = len(ts); prob = int(min(math.floor(0.15 * n), 750))
        s = scored[rel]
        inwin = np.zeros(n, bool)
        hits = []
        for a, b in wl:
            a, b = idx[a[:19]], idx[b[:19]]
            inwin[a:b + 1] = True
            det = np.nonzero(s[a:b + 1] >= thr)[0]
            hits.append(f"{det[0] / (b - a + 1):.2f}" if len(det) else "--")
        fp = np.nonzero((s >= thr) & ~inwin & (np.arange(n) >= prob))[0]
        tp = sum(h != "--" for h in hits); tot_tp += tp; tot_fn += len(hits) - tp; tot_fp += len(fp)
        print(f"{rel:60s} n={n:6d} wins={' '.join(hits):30s} fp={len(fp)} {list(fp[:6])}")
    print(f"TP windows {tot_tp}, missed {tot_fn}, FP rows {tot_fp}")


def points(scorer, nab_dir, rel, s, thr, profile="standard"):
    """(window points, false-positive points, first detection per window as a share of
    it or '--', FP rows) of one file at one threshold, by the NAB scorer's row weights."""
    cm = json.loads((nab_dir / "config" / "profiles.json").read_text())[profile]["CostMatrix"]
    ts = [r[0] for r in csv.reader(open(nab_dir / "data" / rel))][1:]
    idx = {t: i for i, t in enumerate(ts)}
    windows = [(idx[a[:19]], idx[b[:19]])
               for a, b in json.loads((nab_dir / "labels" / "combined_windows.json").read_text())[rel]]
    w, wid, prob = scorer.row_weights(len(ts), windows, cm)
    hit = s[prob:] >= thr
    tp, first = 0.0, []
    for k, (a, b) in enumerate(windows):
        rows = np.nonzero((wid == k) & hit)[0]
        tp += w[rows].max() if len(rows) else -cm["fnWeight"]
        first.append(f"{(rows[0] + prob - a) / (b - a + 1):.2f}" if len(rows) else "--")
    fp_rows = np.nonzero((wid < 0) & hit)[0]
    return tp, float(w[fp_rows].sum()), first, [int(r) + prob for r in fp_rows]


def compare(scorer, nab_dir, before, after, thr_before, thr_after):
    """Print the files whose points differ between two variants, each at its own threshold."""
    total = 0.0
    for rel in sorted(before):
        b, a = (points(scorer, nab_dir, rel, s, t) for s, t in ((before[rel], thr_before), (after[rel], thr_after)))
        change = (a[0] + a[1]) - (b[0] + b[1])
        total += change
        if abs(change) > 1e-9:
            print(f"{rel:55s} {change:+.3f}  windows {' '.join(b[2])} -> {' '.join(a[2])}  "
                  f"FP rows {b[3][:6]} -> {a[3][:6]}")
    print(f"total change in raw points: {total:+.3f}")
