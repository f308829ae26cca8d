#!/usr/bin/env python3
"""Pod churn: Foresight's Kubernetes example on a Deployment whose pods come and go.

Each run is three days of one Deployment (bench/kubechurn/deployment.py): JVM pods that
warm up to 70-88% of their memory limit, rolling updates that replace every pod, a daily
scale-out; in a leak run one pod also leaks until it is OOM-killed. Foresight runs the
`container-memory` predictor of predictors/config/examples/kubernetes.yaml with its
defaults, evaluating after every 60 s of data, with the generated rules' `for:`. The
baseline is the common static rule on the same samples, ContainerHighMemoryUsage (working
set above 80% of the limit for 2m, warning). Scored per run: alert episodes on healthy
pods (false; pages are the critical ones) and, in a leak run, whether the leaking pod was
warned at least 10 minutes before its first OOM kill. Writes NAME.md and NAME.json.

usage: python bench/kubechurn/run.py [--seeds 1 2 3] [--jobs 2] [--name kubechurn] [--out DIR]
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
from exhaustion.baselines import eval_grid, instant  # noqa: E402
from kubechurn.deployment import LIMIT, START, deployment, scrapes  # noqa: E402
from parallel import seeded_main  # noqa: E402

from foresight.config import load_config  # noqa: E402
from foresight.runtime.alert_episodes import AlertReplay, hold_for  # noqa: E402
from foresight.runtime.engine import Engine  # noqa: E402

CONFIG = REPO / "predictors" / "config" / "examples" / "kubernetes.yaml"
PREDICTOR = "container-memory"
MIN_LEAD = 600.0
RULE = "ContainerHighMemoryUsage"


def episode(pod: str, start: float, end: float | None, severity: str) -> dict:
    """One alert episode on one pod, in the crash runs' form (crashruns.score.merged merges them)."""
    return {"series": pod, "pod": pod, "start": start, "end": end, "severity": severity}


def static_rule(samples: dict) -> list[dict]:
    """ContainerHighMemoryUsage: working set / limit > 80% for 2m, evaluated every minute."""
    out = []
    for pod, (ts, vs) in samples.items():
        ts = np.asarray(ts)
        grid = eval_grid(ts)
        share = instant(ts, np.asarray(vs) / LIMIT, grid)  # NaN where stale: not firing
        firing = hold_for(grid, np.nan_to_num(share, nan=0.0) > 0.8, 120)
        out += [episode(pod, e["start"], e["end"], e["severity"]) for e in episodes_of(grid, firing, RULE, pod, "warning")]
    return merged(out)


def score(run, episodes: list[dict]) -> dict:
    false = [e for e in episodes if e["pod"] != run.leaking]
    out = {"false": len(false), "false_pages": sum(e["severity"] == "critical" for e in false),
           "false_list": [{k: e[k] for k in ("pod", "start", "end", "severity")} for e in false],
           "warned": None, "lead": None}
    if run.oom is not None:
        hits = [e for e in episodes if e["pod"] == run.leaking and e["start"] <= run.oom - MIN_LEAD]
        out["warned"], out["lead"] = bool(hits), (run.oom - min(e["start"] for e in hits)) if hits else None
    return out


def one_run(job: tuple) -> dict:
    seed, leak = job
    started = time.perf_counter()
    run = deployment(seed, leak)
    config = load_config(CONFIG)
    config.predictors = [p for p in config.predictors if p.name == PREDICTOR]
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    samples: dict = {}
    for now, points in scrapes(run):
        engine.add_points("metrics", points)
        for p in points:
            if p.metric == "container_memory_working_set_bytes":
                ts, vs = samples.setdefault(dict(p.labels)["pod"], ([], []))
                ts.append(p.timestamp)
                vs.append(p.value)
        alerts.observe(now, engine.evaluate(), engine.withdrawn)
    foresight = merged([episode(e.labels.get("pod"), e.start, e.end, e.severity) for e in alerts.episodes])
    return {"run": run.name, "seed": seed, "leak": leak, "pods": len(run.pods), "leaking": run.leaking, "oom": run.oom,
            "errors": sum(p.errors for p in engine.predictors), "seconds": time.perf_counter() - started,
            "foresight": score(run, foresight), "static": score(run, static_rule(samples))}


def summary(results: list[dict], method: str) -> str:
    leaks = [r for r in results if r["oom"] is not None]
    warned = [r for r in leaks if r[method]["warned"]]
    leads = sorted(r[method]["lead"] for r in warned)
    lead = f"{leads[len(leads) // 2] / 3600:.1f} h" if leads else "-"
    false = sum(r[method]["false"] for r in results)
    pages = sum(r[method]["false_pages"] for r in results)
    with_false = sum(r[method]["false"] > 0 for r in results)
    return f"{len(warned)}/{len(leaks)} · {lead} · {with_false}/{len(results)} · {false} · {pages}"


def write_report(path: Path, meta: dict, results: list[dict]):
    lines = [f"# Pod churn: {meta['name']}", "",
             f"Seeds {', '.join(map(str, meta['seeds']))}, each a healthy run and a leak run of three days "
             "(bench/kubechurn/deployment.py). Foresight runs the `container-memory` predictor of "
             "`predictors/config/examples/kubernetes.yaml` with its defaults; the static rule is "
             "ContainerHighMemoryUsage (working set above 80% of the limit for 2m) on the same samples. "
             f"{meta['note']}", "",
             "Cells: leaks warned >= 10 min before the first OOM kill · median lead · runs with a false alert · "
             "false alert episodes (on pods that do not leak) · false pages (critical).", "",
             "| | runs | Foresight | static 80% rule |", "|---|---|---|---|",
             f"| all | {len(results)} | {summary(results, 'foresight')} | {summary(results, 'static')} |", "",
             "## Runs", "", "| run | pods | first OOM kill | Foresight: warned, lead, false (pages) | static rule |",
             "|---|---|---|---|---|"]
    for r in results:
        cells = []
        for method in ("foresight", "static"):
            s = r[method]
            lead = f"{s['lead'] / 3600:.1f} h" if s["lead"] else "-"
            cells.append(f"{s['warned']}, {lead}, {s['false']} ({s['false_pages']})")
        oom = f"+{(r['oom'] - START) / 3600:.1f} h" if r["oom"] else "-"
        lines.append(f"| {r['run']} | {r['pods']} | {oom} | {cells[0]} | {cells[1]} |")
    errors = sum(r["errors"] for r in results)
    lines += ["", f"Predictor errors: {errors}. Wall time: {meta['wall_seconds']:.0f} s. Foresight code: sources "
              f"sha256 {meta['code'][:12]}."]
    path.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    return seeded_main(argv, "bench/kubechurn/run.py", __doc__.split("\n\n")[0], "kubechurn", one_run, write_report)


if __name__ == "__main__":
    sys.exit(main())
