"""Two versions of the code on the scale bench's series, run in turn: a change's effect on
the time per loop, with most of a shared machine's noise taken out.

Each round runs one process per version (the version is whichever `foresight` its
PYTHONPATH gives): N series with 3 days of history, then `--loops` simulated minutes of
engine.predict() (the garbage collector paused, as the service pauses it, where the code
has runtime.heap.collector_paused) and engine.refit_pending(). CPU time per loop, up to the
predictions and whole. The rounds alternate the versions; the figure for each loop is its
least CPU time over the rounds, so a burst of load on the machine during one round does not
count.

  .venv/bin/python bench/scale/ab.py --base-src /path/to/old/predictors/src [--series 2000]
                                     [--loops 200] [--rounds 3] [--label-base old] [--label-new new]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def run_one(series: int, loops: int, out: Path):
    """One version's loops (in a child process: its PYTHONPATH picks the version)."""
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    import numpy as np
    import evaluate as ev  # its foresight imports (collector_paused among them) are this version's

    signals, labels = ev.Signals(series), ev.series_labels(series)
    engine = ev._engine(series)
    ev.tune_collector()
    now = ev.prefill(engine, signals, labels, 60)
    engine.evaluate()
    ev.freeze_startup_state()
    noise = np.random.default_rng(3)
    predict, whole = [], []
    for k in range(1, loops + 1):
        t = now + 60 * k
        v = signals.values(np.arange(series), np.array([t - ev.T0]), noise)[:, 0]
        engine.add_points("metrics", ev._points(labels, t, v))
        start = time.process_time()
        with ev.collector_paused():
            engine.predict()
        predict.append(time.process_time() - start)
        engine.refit_pending()
        whole.append(time.process_time() - start)
    out.write_text(json.dumps({"predict": predict, "whole": whole}))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--base-src", type=Path, required=True, help="the old version's predictors/src")
    p.add_argument("--new-src", type=Path, default=REPO / "predictors" / "src",
                   help="the new version's predictors/src (default: this checkout's)")
    p.add_argument("--series", type=int, default=2000, help="series (default %(default)s)")
    p.add_argument("--loops", type=int, default=200, help="simulated minutes per run (default %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each version, alternating (default %(default)s)")
    p.add_argument("--label-base", default="base", help="the old version's name in the table")
    p.add_argument("--label-new", default="new", help="the new version's name in the table")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        run_one(args.series, args.loops, args.child)
        return 0
    for name, src in (("--base-src", args.base_src), ("--new-src", args.new_src)):
        if not (src / "foresight" / "__init__.py").is_file():
            p.error(f"{name} {src}: no foresight package there")
    import numpy as np

    runs = {args.label_base: [], args.label_new: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for label, src in ((args.label_base, args.base_src), (args.label_new, args.new_src)):
                out = Path(tmp) / f"{label}-{r}.json"
                env = dict(os.environ, PYTHONPATH=str(src.resolve()), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
                print(f"round {r + 1}/{args.rounds}: {label}", file=sys.stderr, flush=True)
                subprocess.run([sys.executable, __file__, "--base-src", str(args.base_src), "--child", str(out),
                                "--series", str(args.series), "--loops", str(args.loops)], env=env, check=True)
                runs[label].append(json.loads(out.read_text()))
    late = slice(args.loops // 2, None)  # the second half: most track records full (they fill from lookback, 2 h)
    print(f"| {args.series:,} series, CPU per loop, least of {args.rounds} runs | {args.label_base} | {args.label_new} |")
    print("|---|---|---|")
    for part, name in (("predict", "predictions out"), ("whole", "whole loop")):
        cells = []
        for label in runs:
            least = np.array([run[part] for run in runs[label]]).min(axis=0)
            cells.append(f"p50 {np.percentile(least, 50):.3f} / p99 {np.percentile(least, 99):.3f} s; "
                         f"loops {late.start + 1}-{args.loops} {least[late].sum():.2f} s")
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
