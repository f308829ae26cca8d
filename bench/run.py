#!/usr/bin/env python3
"""Foresight benchmarks.

  python bench/run.py exhaustion [--generator loadgen|second] [--first-seed 1] [--seeds 3] [--days 7]
                                 [--quick] [--kinds a,b] [--name NAME] [--foresight-src DIR]
                                 [--work DIR] [--out DIR] [--jobs N]
  python bench/run.py cost [--series 10000] [--history 50h] [--minutes 5]
"""
import argparse
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench/run.py", description="Foresight benchmarks (see bench/README.md).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ex = sub.add_parser("exhaustion", help="exhaustion predictor vs. Prometheus predict_linear rules on a scenario suite",
                        description="Generate the scenario suite (cached in --work), run `foresight backtest` on it as a "
                                    "subprocess, emulate the predict_linear alert rules on the same CSVs, score all "
                                    "methods and write NAME.md, NAME.json and NAME.png to --out. NAME: exhaustion "
                                    "(loadgen, seeds 1-3: the tuning set), exhaustion-heldout-seeds-A-B (other loadgen "
                                    "seeds), exhaustion-generator2 (--generator second); -quick for --quick.")
    ex.add_argument("--generator", choices=("loadgen", "second"), default="loadgen",
                    help="loadgen's resource kinds, or the second, independent generator (default %(default)s)")
    ex.add_argument("--work", type=Path, default=BENCH / ".work",
                    help="cache for the suite CSVs; Foresight outputs are remade every run (default %(default)s)")
    ex.add_argument("--out", type=Path, default=BENCH / "bench-results", help="results folder (default %(default)s)")
    ex.add_argument("--seeds", type=int, default=3, help="seeds per scenario kind (default %(default)s)")
    ex.add_argument("--first-seed", type=int, default=1,
                    help="first seed; a different range gives a held-out suite (default %(default)s)")
    ex.add_argument("--days", type=int, default=7, help="days per series (default %(default)s)")
    ex.add_argument("--quick", action="store_true", help="4-5 families x 1 seed, for development")
    ex.add_argument("--kinds", type=lambda v: [k for k in v.split(",") if k],
                    help="comma-separated kinds (loadgen) or families (second) instead of all")
    ex.add_argument("--name", help="base name of the result files (default: from generator and seeds)")
    ex.add_argument("--foresight-src", type=Path, metavar="DIR",
                    help="score the Foresight package under DIR (the predictors/src of another checkout or "
                         "commit, put first on the backtests' PYTHONPATH) instead of the installed one")
    ex.add_argument("--jobs", type=int, default=None, help="parallel `foresight backtest` processes (default: CPUs)")
    co = sub.add_parser("cost", help="time Foresight's inference loop on many series vs. predict_linear",
                        description="Build a foresight Engine with one exhaustion predictor over N series, feed "
                                    "--history of 1-minute points, then time engine.evaluate() per simulated minute; "
                                    "time predict_linear on the same series and window in the same run.")
    co.add_argument("--series", type=int, default=10000, help="number of series (default %(default)s)")
    co.add_argument("--history", default="50h", help="history fed before timing (default %(default)s)")
    co.add_argument("--minutes", type=int, default=5, help="simulated minutes timed (default %(default)s)")
    co.add_argument("--out", type=Path, default=BENCH / "bench-results", help="results folder (default %(default)s)")
    args = p.parse_args(argv)
    if args.command == "exhaustion":
        from exhaustion.bench import run

        run(args.work, args.out, args.seeds, args.days, args.quick, args.jobs, args.first_seed, args.generator,
            args.kinds, args.name, args.foresight_src)
    else:
        from exhaustion.cost import run_cost

        run_cost(args.series, args.history, args.minutes, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
