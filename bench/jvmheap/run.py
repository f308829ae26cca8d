#!/usr/bin/env python3
"""JVM heaps: Foresight's `jvm-heap` example predictor on a fleet of Java services.

Each run is three days of three services (bench/jvmheap/fleet.py): G1, parallel and ZGC
heaps whose old generation's figure after collection moves every few minutes to every few
hours, pods replaced by rolling updates, a nightly cache reload; in a leak run one JVM
also leaks until it dies with an OutOfMemoryError. Foresight runs the `jvm-heap` predictor
of predictors/config/examples/otel-semconv.yaml with its defaults, evaluating after every
60 s of data, with the generated rules' `for:`. Baselines on the same samples, evaluated
every minute: a static rule (heap after collection above 85% of the maximum for 5m,
warning) and predict_linear (predict_linear(after-collection share[1h], 4h) > 1 for 10m,
as kube-prometheus' FdExhaustionClose). Scored per run: alert episodes on JVMs that do not
leak (false; pages are the critical ones) and, in a leak run, whether the leaking JVM was
warned at least 10 minutes before its first OutOfMemoryError. Writes NAME.md and NAME.json.

usage: python bench/jvmheap/run.py [--seeds 1 2 3] [--jobs 2] [--name jvmheap] [--out DIR]
"""
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

from crashruns.mixin import episodes_of  # noqa: E402
from crashruns.score import merged  # noqa: E402
from exhaustion.baselines import eval_grid, instant, predict_linear  # noqa: E402
from jvmheap.fleet import SERVICES, START, exports, fleet  # noqa: E402
from kubechurn.run import episode, score, summary  # noqa: E402
from parallel import seeded_main  # noqa: E402

from foresight.config import load_config  # noqa: E402
from foresight.runtime.alert_episodes import AlertReplay, hold_for  # noqa: E402
from foresight.runtime.engine import Engine  # noqa: E402

CONFIG = REPO / "predictors" / "config" / "examples" / "otel-semconv.yaml"
PREDICTOR = "jvm-heap"
AFTER_GC = "jvm_memory_used_after_last_gc_bytes"
LIMIT = "jvm_memory_limit_bytes"
OLD_POOLS = {old for old, *_ in SERVICES.values()}  # the pools the baselines watch


def baselines(samples: dict) -> tuple[list[dict], list[dict]]:
    """(static 85% for 5m, predict_linear over 1h reaching the maximum in 4h for 10m) episodes."""
    static, linear = [], []
    for pod, (ts, used, limits) in samples.items():
        ts, share = np.asarray(ts), np.asarray(used) / np.asarray(limits)
        if ts.size < 2:
            continue
        grid = eval_grid(ts)
        now = instant(ts, share, grid)
        firing = hold_for(grid, np.nan_to_num(now, nan=0.0) > 0.85, 300)
        static += [episode(pod, e["start"], e["end"], e["severity"])
                   for e in episodes_of(grid, firing, "JvmHeapAfterGcHigh", pod, "warning")]
        ahead = np.nan_to_num(predict_linear(ts, share, grid, 3600, 4 * 3600), nan=0.0)
        firing = hold_for(grid, ahead > 1.0, 600)
        linear += [episode(pod, e["start"], e["end"], e["severity"])
                   for e in episodes_of(grid, firing, "JvmHeapFillingUp", pod, "warning")]
    return merged(static), merged(linear)


def one_run(job: tuple) -> dict:
    seed, leak = job
    started = time.perf_counter()
    run = fleet(seed, leak)
    config = load_config(CONFIG)
    config.predictors = [p for p in config.predictors if p.name == PREDICTOR]
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    samples: dict = {}
    for now, points in exports(run):
        engine.add_points("metrics", points)
        for p in points:
            labels = dict(p.labels)
            if p.metric in (AFTER_GC, LIMIT) and labels["jvm_memory_pool_name"] in OLD_POOLS:
                ts, used, limits = samples.setdefault(labels["instance"], ([], [], []))
                if p.metric == AFTER_GC:
                    ts.append(p.timestamp)
                    used.append(p.value)
                else:
                    limits.append(p.value)
        alerts.observe(now, engine.evaluate(), engine.withdrawn)
    foresight = merged([episode(e.labels.get("service_instance"), e.start, e.end, e.severity) for e in alerts.episodes])
    static, linear = baselines(samples)
    return {"run": run.name, "seed": seed, "leak": leak, "jvms": len(run.jvms), "leaking": run.leaking, "oom": run.oom,
            "errors": sum(p.errors for p in engine.predictors), "seconds": time.perf_counter() - started,
            "foresight": score(run, foresight), "static": score(run, static), "linear": score(run, linear)}


METHODS = (("foresight", "Foresight"), ("static", "static 85% for 5m"), ("linear", "predict_linear 1h/4h"))


def write_report(path: Path, meta: dict, results: list[dict]):
    lines = [f"# JVM heaps: {meta['name']}", "",
             f"Seeds {', '.join(map(str, meta['seeds']))}, each a healthy run and a leak run of three days "
             "(bench/jvmheap/fleet.py). Foresight runs the `jvm-heap` predictor of "
             "`predictors/config/examples/otel-semconv.yaml` with its defaults; the baselines, on the same samples, "
             "are a static rule (after collection above 85% of the maximum for 5m) and predict_linear "
             f"(over 1h, reaching the maximum within 4h, for 10m). {meta['note']}", "",
             "Cells: leaks warned >= 10 min before the first OutOfMemoryError · median lead · runs with a false "
             "alert · false alert episodes (on JVMs that do not leak) · false pages (critical).", "",
             "| | runs | " + " | ".join(title for _, title in METHODS) + " |", "|---|---|---|---|---|",
             f"| all | {len(results)} | " + " | ".join(summary(results, m) for m, _ in METHODS) + " |", "",
             "## Runs", "", "| run | JVMs | first OutOfMemoryError | " +
             " | ".join(f"{title}: warned, lead, false (pages)" for _, title in METHODS) + " |", "|---|---|---|---|---|---|"]
    for r in results:
        cells = []
        for method, _ in METHODS:
            s = r[method]
            lead = f"{s['lead'] / 3600:.1f} h" if s["lead"] else "-"
            cells.append(f"{s['warned']}, {lead}, {s['false']} ({s['false_pages']})")
        oom = f"+{(r['oom'] - START) / 3600:.1f} h" if r["oom"] else "-"
        lines.append(f"| {r['run']} | {r['jvms']} | {oom} | " + " | ".join(cells) + " |")
    errors = sum(r["errors"] for r in results)
    lines += ["", f"Predictor errors: {errors}. Wall time: {meta['wall_seconds']:.0f} s. Foresight code: sources "
              f"sha256 {meta['code'][:12]}."]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    return seeded_main(argv, "bench/jvmheap/run.py", __doc__.split("\n\n")[0], "jvmheap", one_run, write_report)


if __name__ == "__main__":
    sys.exit(main())
