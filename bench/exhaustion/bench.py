"""The exhaustion benchmark: suite -> foresight backtest -> baselines -> scores -> table, JSON, plot."""
import json
import shutil
import time
from pathlib import Path

from . import baselines, foresight_runner, score
from .suite import build_suite, load_series

FORESIGHT = "Foresight"


def run(work: Path, out: Path, seeds: int, days: int, quick: bool, jobs: int | None = None,
        first_seed: int = 1) -> dict:
    from tqdm import tqdm

    t0 = time.time()
    kinds = None
    if quick:
        kinds = ["daily-weekly-cycle", "batch-fill-free", "accelerating-leak", "oom-restarts", "disk-fill-daily"]
        seeds = min(seeds, 1)
    cases = build_suite(work, seeds=seeds, days=days, kinds=kinds, first_seed=first_seed)
    # Only the suite is cached: Foresight's outputs are remade every run, so a model change
    # can never be scored on stale results.
    out_dir = cases[0].csv.parent / "foresight-out"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    with tqdm(total=len(cases), desc="foresight backtest", unit="file") as bar:
        foresight_runner.run_backtest([c.csv for c in cases], out_dir, jobs=jobs, progress=bar.update)
    t_foresight = time.time() - t0

    scores = {FORESIGHT: score.MethodScore(FORESIGHT)}
    scores.update({name: score.MethodScore(name) for name in baselines.METHODS})
    traces = {}
    t_base = 0.0
    for case in tqdm(cases, desc="baselines + scoring", unit="series"):
        ts, used, limit = load_series(case)
        span_days = (case.end - case.start) / 86400
        fo = foresight_runner.read_output(out_dir / case.csv.name)
        assert fo["timestamp"].size == ts.size, f"{case.name}: {fo['timestamp'].size} output rows for {ts.size}"
        eps = {FORESIGHT: scores[FORESIGHT].add_series(case.kind, fo["timestamp"], fo["alerting"], case.failures,
                                                       case.ramp_starts, span_days, case.failures_after)}
        e, c = score.ttf_rows(fo["timestamp"], fo["p10"], fo["p50"], fo["p90"], case.failures)
        scores[FORESIGHT].errors += e
        scores[FORESIGHT].covered += c
        tb = time.time()
        grid, alerts = baselines.run_baselines(ts, used, limit)
        t_base += time.time() - tb
        for name, alerting in alerts.items():
            eps[name] = scores[name].add_series(case.kind, grid, alerting, case.failures, case.ramp_starts, span_days,
                                                case.failures_after)
        traces[case.name] = {"case": case, "episodes": eps}

    summaries = {name: s.summary() for name, s in scores.items()}
    tgt = score.targets(summaries, FORESIGHT, list(baselines.METHODS))
    table = score.markdown_table(summaries, tgt, FORESIGHT)
    kinds_table = score.per_kind_table(summaries)

    out.mkdir(parents=True, exist_ok=True)
    from .plot import plot

    png = plot(traces, out_dir, out / "exhaustion.png")
    result = {
        "suite": {"series": len(cases), "seeds": seeds, "days": days, "quick": quick,
                  "folder": str(cases[0].csv.parent)},
        "methods": summaries, "targets": tgt, "plot": png.name,  # beside this file
        "timing_s": {"foresight_backtest_wall": t_foresight, "baselines_total": t_base,
                     "baselines_per_series": t_base / len(cases)},
        "episodes": {n: {m: v for m, v in tr["episodes"].items()} for n, tr in traces.items()},
    }
    (out / "exhaustion.json").write_text(json.dumps(result, indent=1, default=float))
    md = ["# Exhaustion benchmark", "",
          f"{len(cases)} series ({days} days each at 1-minute resolution, seeds {first_seed}..{first_seed + seeds - 1}), "
          f"Foresight via `foresight backtest` vs. emulated Prometheus `predict_linear` rules.", "",
          table, "", "## Per scenario", "", kinds_table, "", f"![scenarios]({png.name})", "",
          f"Baselines: {t_base / len(cases) * 1000:.0f} ms per series-week; "
          f"suite + foresight backtest wall time {t_foresight:.0f} s.", ""]
    (out / "exhaustion.md").write_text("\n".join(md))
    print(table)
    print()
    print(kinds_table)
    print(f"\nwrote {out / 'exhaustion.md'}, {out / 'exhaustion.json'}, {png}")
    return result
