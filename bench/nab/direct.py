"""Run the streaming univariate detector over NAB files and score the result.

usage: direct.py NAB_DIR OUT_DIR [--half A|B|all] [--set field=value ...] [--scorer PATH]

Runs in one process, one file after another, so the printed detector time is the
single-core cost. Writes OUT_DIR/<file>.csv (timestamp, anomaly_score) and prints the
NAB standard / reward_low_FP_rate / reward_low_FN_rate scores from the NAB scorer. A row
whose timestamp is not after every earlier row's gets no score and is not fed, as
`foresight backtest --late-rows skip` (run.py) does, so both give the same scores.
`--half A` runs and scores half A of the fixed split (split.py) alone: the half where
defaults may be chosen.
"""
import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from split import half_of, relative_names, scorer_view

from foresight.predictors.anomaly import DetectorSettings, StreamingDetector

DEFAULT_SCORER = Path(__file__).resolve().parents[3] / "shared" / "tools" / "nab_score.py"


def read_series(path: Path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    stamps = [r[0] for r in rows]
    epoch = [datetime.fromisoformat(t).replace(tzinfo=timezone.utc).timestamp() for t in stamps]
    values = [float(r[1]) for r in rows]
    return stamps, epoch, values


def late_rows(epoch) -> set:
    """Indexes of rows not after the newest earlier row (the backtest skips them)."""
    late, newest = set(), -math.inf
    for i, t in enumerate(epoch):
        if t <= newest:
            late.add(i)
        else:
            newest = t
    return late


def detect(settings: DetectorSettings, epoch, values) -> list:
    """One fresh detector over one file: a score or None (warming up, or a late row) per row."""
    detector, late = StreamingDetector(settings), late_rows(epoch)
    return [None if i in late else detector.update(t, v) for i, (t, v) in enumerate(zip(epoch, values))]


def parse_overrides(pairs):
    out = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        out[name] = json.loads(text)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nab_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--half", choices=("A", "B", "all"), default="all",
                    help="run and score one half of the fixed split only (split.py)")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="override one detector setting (value in JSON), e.g. --set quiet_rows=200")
    ap.add_argument("--scorer", type=Path, default=DEFAULT_SCORER)
    args = ap.parse_args(argv)
    settings = DetectorSettings.from_mapping(parse_overrides(args.set), "--set")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted((args.nab_dir / "data").glob("*/*.csv"))
    if not files:
        raise SystemExit(f"no data files under {args.nab_dir / 'data'}")
    if args.half != "all":
        halves = half_of(relative_names(args.nab_dir))
        files = [p for p in files if halves[f"{p.parent.name}/{p.name}"] == args.half]
    detector_seconds, rows = 0.0, 0
    for path in files:
        stamps, epoch, values = read_series(path)
        start = time.process_time()
        scores = detect(settings, epoch, values)
        detector_seconds += time.process_time() - start
        rows += len(values)
        with open(args.out_dir / path.name, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["timestamp", "anomaly_score"])
            out.writerows(zip(stamps, ("" if s is None else f"{s:.12g}" for s in scores)))  # none while warming up
    print(f"detector: {len(files)} files, {rows} rows, {detector_seconds:.1f} s CPU "
          f"({1e6 * detector_seconds / rows:.1f} us/row)")
    with tempfile.TemporaryDirectory() as view:
        labels = args.nab_dir if args.half == "all" else scorer_view(args.nab_dir, args.half, Path(view))
        result = subprocess.run([sys.executable, str(args.scorer), str(labels), str(args.out_dir)],
                                check=True, capture_output=True, text=True)
    scores = json.loads(result.stdout)
    for profile, r in scores.items():
        print(f"{profile:20s} {r['score']:6.2f}  (threshold {r['threshold']:.6g})")
    return scores


if __name__ == "__main__":
    main()
