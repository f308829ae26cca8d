"""Runs of a bench in worker processes, in order, with a line of progress for each; and the
command line of the benches whose runs are (seed, healthy or leak) pairs."""
import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def run_all(one_run, jobs: list, workers: int) -> list[dict]:
    """`one_run(job)` for every job on `workers` processes, results in the order of `jobs`.
    Each result names its run (`run`), its wall time (`seconds`) and Foresight's score
    (`foresight`: warned, false, false_pages), which the progress line shows."""
    results = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, result in enumerate(pool.map(one_run, jobs), 1):
            results.append(result)
            f = result["foresight"]
            print(f"[{i}/{len(jobs)}] {result['run']}: {result['seconds']:.0f} s, warned {f['warned']}, "
                  f"false {f['false']} (pages {f['false_pages']})", file=sys.stderr, flush=True)
    return results


def seeded_main(argv, prog: str, description: str, default_name: str, one_run, write_report) -> int:
    """The command line of a bench of (seed, leak) runs: every seed's healthy and leak run
    through `one_run`, then NAME.json (meta and runs) and NAME.md (`write_report`)."""
    from exhaustion.foresight_runner import model_source  # the bench folder is on sys.path

    results_dir = Path(__file__).resolve().parent / "bench-results"
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="seeds (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel (default %(default)s)")
    parser.add_argument("--name", default=default_name, help="result file name (default %(default)s)")
    parser.add_argument("--note", default="Nothing in Foresight was tuned on these runs.",
                        help="what the report says of these seeds' role (default: %(default)r)")
    parser.add_argument("--out", type=Path, default=results_dir, help="results folder (default %(default)s)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    jobs = [(seed, leak) for seed in args.seeds for leak in (False, True)]
    started = time.perf_counter()
    results = run_all(one_run, jobs, args.jobs)
    meta = {"name": args.name, "seeds": args.seeds, "wall_seconds": time.perf_counter() - started,
            "code": model_source()["sha256"], "note": args.note}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1))
    write_report(args.out / f"{args.name}.md", meta, results)
    print(f"wrote {args.out / args.name}.md and .json", file=sys.stderr)
    return 0


__all__ = ["run_all", "seeded_main"]
