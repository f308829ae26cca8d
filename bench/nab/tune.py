"""Development aid: record each check's tail probability per row once, then try ways of
combining and quietening them offline and score each with the NAB scorer.

usage: tune.py NAB_DIR CACHE.npz [--half A] [--set field=value ...]
The default combination is the detector's: min over the checks' tails times their number,
e.g. evaluate(nab_dir, tails[...], scorer, lambda t: t.min(axis=1) * t.shape[1], half="A").
Choose defaults on half A only (split.py). Late rows are skipped as in direct.py.
Not part of the product; the detector's own code path is what direct.py measures.
"""
import argparse
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
from direct import DEFAULT_SCORER, late_rows, parse_overrides, read_series
from split import half_of, relative_names

from foresight.predictors.anomaly import DetectorSettings, StreamingDetector
from foresight.predictors.anomaly.alarms import QuietPeriod
from foresight.predictors.anomaly.univariate import CHECKS


def load_scorer(path=DEFAULT_SCORER):
    spec = importlib.util.spec_from_file_location("nab_score", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def in_half(nab_dir: Path, half: str) -> set:
    """NAB paths ('<category>/<file>.csv') of one half of the split, or of all files."""
    names = relative_names(nab_dir)
    return set(names) if half == "all" else {rel for rel, h in half_of(names).items() if h == half}


def record(nab_dir: Path, settings: DetectorSettings, half: str = "A"):
    tails, wanted = {}, in_half(nab_dir, half)
    for path in sorted((nab_dir / "data").glob("*/*.csv")):
        if f"{path.parent.name}/{path.name}" not in wanted:
            continue
        _, epoch, values = read_series(path)
        det, late = StreamingDetector(settings), late_rows(epoch)
        out = np.ones((len(values), len(CHECKS)))
        for i, (t, v) in enumerate(zip(epoch, values)):
            if i in late:
                continue
            det.update(t, v)
            if det.rows_seen > settings.warmup_rows:
                out[i] = [det.last_tails[c] for c in CHECKS]
        tails[f"{path.parent.name}/{path.name}"] = out
    return tails


def quieten(score, alarm, rows, factor, share_of_seen=0.0, max_rows=None, breakthrough=None):
    """The detector's own quiet period applied to a recorded score series."""
    quiet = QuietPeriod(alarm, rows, factor, share_of_seen, max_rows, breakthrough)
    return np.array([quiet.apply(s, i + 1) for i, s in enumerate(score)])


def evaluate(nab_dir, tails, scorer, combine, alarm=0.45, rows=30, factor=0.0, decades=10.0,
             share_of_seen=0.05, max_rows=500, half="A", breakthrough=0.9):
    wanted = in_half(nab_dir, half)
    wins = {rel: w for rel, w in json.loads((nab_dir / "labels" / "combined_windows.json").read_text()).items()
            if rel in wanted}
    profiles = json.loads((nab_dir / "config" / "profiles.json").read_text())
    files = []
    for rel, wl in sorted(wins.items()):
        import csv
        ts = [r[0] for r in csv.reader(open(nab_dir / "data" / rel))][1:]
        idx = {t: i for i, t in enumerate(ts)}
        windows = [(idx[a[:19]], idx[b[:19]]) for a, b in wl]
        p = np.clip(combine(tails[rel]), 1e-300, 1.0)
        score = np.minimum(1.0, -np.log10(p) / decades)
        files.append((rel, len(ts), windows,
                      quieten(score, alarm, rows, factor, share_of_seen, max_rows, breakthrough)))
    out = {}
    for name, prof in profiles.items():
        cm = prof["CostMatrix"]
        (raw, thr), nwin = scorer.best_score(files, cm)
        null, perfect = -cm["fnWeight"] * nwin, cm["tpWeight"] * nwin
        out[name] = round(100 * (raw - null) / (perfect - null), 2)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nab_dir", type=Path)
    ap.add_argument("cache", type=Path)
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--half", choices=("A", "B", "all"), default="A")
    args = ap.parse_args()
    settings = DetectorSettings.from_mapping(parse_overrides(args.set), "--set")
    if args.cache.exists():
        tails = dict(np.load(args.cache))
    else:
        tails = record(args.nab_dir, settings, args.half)
        np.savez(args.cache, **tails)
    return args.nab_dir, tails


if __name__ == "__main__":
    main()


def rate_penalised(tails, decades=10.0, alarm=0.5, rows=100, factor=0.0,
                   surprise=0.3, window=1000, weight=1.0):
    """Score with the tail probability multiplied by (1 + weight * recent surprises), where
    a surprise is a row whose unpenalised score reached `surprise` in the last `window` rows:
    a series that is often surprising needs a stronger signal to alarm."""
    from collections import deque
    n = len(tails)
    base = np.minimum(1.0, -np.log10(np.clip(tails, 1e-300, 1.0)) / decades)
    out = np.zeros(n)
    recent = deque()
    left = 0
    for i in range(n):
        while recent and recent[0] <= i - window:
            recent.popleft()
        p = max(min(tails[i] * (1.0 + weight * len(recent)), 1.0), 1e-300)
        s = min(1.0, -math.log10(p) / decades)
        if base[i] >= surprise:
            recent.append(i)
        if left > 0:
            left -= 1
            s *= factor
        elif s >= alarm:
            left = rows
        out[i] = s
    return out


def evaluate_scores(nab_dir, scored, scorer, half="A"):
    import csv
    wanted = in_half(nab_dir, half)
    wins = {rel: w for rel, w in json.loads((nab_dir / "labels" / "combined_windows.json").read_text()).items()
            if rel in wanted}
    profiles = json.loads((nab_dir / "config" / "profiles.json").read_text())
    files = []
    for rel, wl in sorted(wins.items()):
        ts = [r[0] for r in csv.reader(open(nab_dir / "data" / rel))][1:]
        idx = {t: i for i, t in enumerate(ts)}
        files.append((rel, len(ts), [(idx[a[:19]], idx[b[:19]]) for a, b in wl], scored[rel]))
    out = {}
    for name, prof in profiles.items():
        cm = prof["CostMatrix"]
        (raw, thr), nwin = scorer.best_score(files, cm)
        null, perfect = -cm["fnWeight"] * nwin, cm["tpWeight"] * nwin
        out[name] = round(float(100 * (raw - null) / (perfect - null)), 2)
    return out


def hysteresis(tails, decades=10.0, alarm=0.5, rearm=0.2, calm_rows=20, min_rows=0):
    """After an alarm, stay quiet until the score has stayed below `rearm` for `calm_rows`
    rows (and at least `min_rows` rows have passed): one alarm per unusual episode."""
    base = np.minimum(1.0, -np.log10(np.clip(tails, 1e-300, 1.0)) / decades)
    out = base.copy()
    quiet = False
    calm = since = 0
    for i, s in enumerate(base):
        if quiet:
            since += 1
            calm = calm + 1 if s < rearm else 0
            out[i] = 0.0
            if calm >= calm_rows and since >= min_rows:
                quiet = False
        elif s >= alarm:
            quiet, calm, since = True, 0, 0
    return out


def peak_gated(tails, decades=10.0, alarm=0.45, rows=100, margin=1.0):
    """After an alarm, later rows within `rows` only score if they beat the alarm's score
    times `margin`; a stronger anomaly still gets through, repeats of the same one do not."""
    base = np.minimum(1.0, -np.log10(np.clip(tails, 1e-300, 1.0)) / decades)
    out = base.copy()
    left, gate = 0, 0.0
    for i, s in enumerate(base):
        if left > 0:
            left -= 1
            if s > gate * margin:
                left, gate = rows, s
            else:
                out[i] = 0.0
        elif s >= alarm:
            left, gate = rows, s
    return out
