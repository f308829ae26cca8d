"""Runs of a bench in worker processes, in order, with a line of progress for each."""
import sys
from concurrent.futures import ProcessPoolExecutor


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


__all__ = ["run_all"]
