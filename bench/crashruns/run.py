#!/usr/bin/env python3
"""Crash runs: Foresight, as deployed with its defaults, on clusters that fail.

Each run is a small data-store cluster seen through node_exporter (bench/crashruns/cluster.py,
a generator written before any result was seen): it starts, lives through deploys, batch
jobs, exporter restarts, clock skew and node replacements, then gets one fault (a memory
leak, packet loss, a CPU hog, a filling disk, a full table of open files, inodes or
tracked connections, or none) that ends in a crash. Foresight runs
the shipped node_exporter example plus anomaly predictors on ten node KPIs
(bench/crashruns/cluster-kpis.yaml); node-mixin's node alerts run on the same samples.
Scored: warned at least 10 minutes before the crash on the faulty node, and false alerts
before the fault (bench/crashruns/score.py). Writes NAME.md and NAME.json to --out.

usage: python bench/crashruns/run.py [--seeds 1 2 3] [--faults memory-leak ...] [--every 60]
           [--jobs 2] [--name crashruns] [--out bench/bench-results]
"""
import argparse
import json
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from crashruns.cluster import FAULTS, crash_run  # noqa: E402
from crashruns.mixin import mixin_alerts  # noqa: E402
from crashruns.replay import foresight_config, replay  # noqa: E402
from crashruns.report import write_report  # noqa: E402
from crashruns.score import foresight_episodes, mixin_episodes, score_run  # noqa: E402
from exhaustion.foresight_runner import model_source  # noqa: E402
from parallel import run_all  # noqa: E402


def spans_of(series: dict) -> dict:
    """instance -> (first, last) sample time."""
    spans: dict = {}
    for (_, labels), s in series.items():
        instance = dict(labels).get("instance", "")
        first, last = min(s.times), max(s.times)
        known = spans.get(instance)
        spans[instance] = (first, last) if known is None else (min(known[0], first), max(known[1], last))
    return spans


def chosen_config(kinds: list | None):
    """The crash runs' config, or only its predictors of these kinds."""
    config = foresight_config()
    if kinds:
        config.predictors = [p for p in config.predictors if p.kind in kinds]
        config.source += f" (kinds: {', '.join(kinds)})"
    return config


def one_run(job: tuple) -> dict:
    fault, seed, every, kinds = job
    started = time.perf_counter()
    run = crash_run(fault, seed)
    replayed = replay(run, chosen_config(kinds), every)
    spans = spans_of(replayed.series)
    foresight = score_run(run, foresight_episodes(replayed), spans)
    mixin = score_run(run, mixin_episodes(mixin_alerts(replayed.series)), spans)
    return {"run": run.name, "fault": fault, "seed": seed, "start": run.start, "fault_start": run.fault_start,
            "crash": run.crash, "end": run.end, "nodes": len(run.instances), "series": len(replayed.series),
            "confounders": run.confounders, "evaluations": replayed.evaluations, "accepted": replayed.accepted,
            "bad_input": replayed.bad_input, "errors": replayed.errors,
            "seconds": time.perf_counter() - started, "foresight": foresight, "node-mixin": mixin}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench/crashruns/run.py", description=__doc__.split("\n\n")[0],
                                     epilog="See bench/README.md, 'Crash runs'.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="run seeds (default %(default)s)")
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS),
                        help="faults to run (default: all)")
    parser.add_argument("--every", type=float, default=60.0,
                        help="seconds of data per flush; Foresight evaluates after each (default %(default)s)")
    parser.add_argument("--kinds", nargs="+", choices=("exhaustion", "anomaly"), default=None,
                        help="replay only the predictors of these kinds (default: all); a change to one kind is "
                             "measured faster, but 'warned' then counts only their alerts")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default %(default)s)")
    parser.add_argument("--name", default=None, help="result file name (default: crashruns-seeds-A-B)")
    parser.add_argument("--note", default="Nothing in Foresight was tuned on these runs.",
                        help="what the report says of these seeds' role (default: %(default)r)")
    parser.add_argument("--out", type=Path, default=BENCH / "bench-results", help="results folder (default %(default)s)")
    args = parser.parse_args(argv)
    if args.every <= 0 or args.jobs < 1:
        parser.error("--every must be positive and --jobs at least 1")
    name = args.name or f"crashruns-seeds-{min(args.seeds)}-{max(args.seeds)}"
    jobs = [(fault, seed, args.every, args.kinds) for seed in args.seeds for fault in args.faults]
    started = time.perf_counter()
    code = model_source()["sha256"]  # which Foresight these figures are of
    results = run_all(one_run, jobs, args.jobs)
    meta = {"name": name, "seeds": args.seeds, "faults": args.faults, "every": args.every,
            "wall_seconds": time.perf_counter() - started, "config": chosen_config(args.kinds).source, "code": code,
            "note": args.note}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1, default=str))
    write_report(args.out / f"{name}.md", meta, results)
    print(f"wrote {args.out / name}.md and .json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
