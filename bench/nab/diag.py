"""Development aid: per-file view of detections at one threshold (TP windows, FP rows)."""
import csv
import json
import math

import numpy as np


def per_file(nab_dir, scored, thr):
    """scored: {rel: score array}. Prints window hits and false-positive rows per file."""
    wins = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    tot_tp = tot_fn = tot_fp = 0
    for rel, wl in sorted(wins.items()):
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
