"""The exhaustion benchmark: suite -> foresight backtest -> baselines -> scores -> Markdown, JSON, plot."""
import json
import shutil
import time
from pathlib import Path

import numpy as np

from . import baselines, foresight_runner, report, score
from .suite import START, build_suite, load_series

FORESIGHT = "Foresight"
# --quick: a few families (failing and not, one at 30 s) and one seed, for development.
QUICK = {
    "loadgen": ["batch-fill-free", "accelerating-leak", "leak-under-traffic", "pool-traffic-growth", "startup-ramp"],
    "second": ["leak-under-traffic", "pool-traffic-growth", "seasonal", "startup-ramp"],
}


def result_name(generator: str, first_seed: int, seeds: int, quick: bool, kinds) -> str:
    """exhaustion (loadgen, seeds 1-3: the tuning set), exhaustion-heldout-seeds-A-B (other loadgen
    seeds), exhaustion-generator2 (seeds 1-3; else -seeds-A-B); -quick or -some for part of a suite."""
    last = first_seed + seeds - 1
    if generator == "second":
        name = "exhaustion-generator2"
    elif last <= 3:
        name = "exhaustion"
    else:
        name = "exhaustion-heldout"
    usual = (1, 1) if quick else (1, 3)
    if name == "exhaustion-heldout" or (first_seed, last) != usual:
        name += f"-seeds-{first_seed}-{last}"
    return name + ("-quick" if quick else "") + ("-some" if kinds and not quick else "")


def _details(ts, used, limit, fo):
    """time -> (used/limit at the newest row at or before it, Foresight's p50 there)."""
    def at(t):
        i = int(np.searchsorted(ts, t, side="right")) - 1
        j = int(np.searchsorted(fo["timestamp"], t, side="right")) - 1
        return (None if i < 0 else float(used[i] / limit[i])), (None if j < 0 else float(fo["p50"][j]))
    return at


def run(work: Path, out: Path, seeds: int, days: int, quick: bool, jobs: int | None = None,
        first_seed: int = 1, generator: str = "loadgen", kinds=None, name: str | None = None,
        foresight_src: Path | None = None) -> dict:
    """Score Foresight (the installed package, or the one under `foresight_src`) and the
    baselines on one suite; write NAME.md, NAME.json and NAME.png to `out`."""
    from tqdm import tqdm

    t0 = time.time()
    if quick:
        kinds = kinds or QUICK[generator]
        seeds = min(seeds, 1)
    name = name or result_name(generator, first_seed, seeds, quick, kinds)
    seed_list = list(range(first_seed, first_seed + seeds))
    cases = build_suite(work, seeds=seeds, days=days, kinds=kinds, first_seed=first_seed, generator=generator)
    model = foresight_runner.model_source(foresight_src)
    t_suite = time.time() - t0
    # Only the suite is cached: Foresight's outputs are remade every run, so a model change
    # can never be scored on stale results. One folder per result name: two runs on the same
    # suite at once (the code before a change and after it) must not remove each other's.
    out_dir = cases[0].csv.parent / f"foresight-out-{name}"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    with tqdm(total=len(cases), desc=f"foresight backtest ({name})", unit="file") as bar:
        foresight_runner.run_backtest([c.csv for c in cases], out_dir, jobs=jobs, progress=bar.update,
                                      source=foresight_src)
    t_foresight = time.time() - t0 - t_suite

    scores = {FORESIGHT: score.MethodScore(FORESIGHT)}
    scores.update({n: score.MethodScore(n) for n in baselines.METHODS})
    traces, details = {}, {}
    t_base = 0.0
    for case in tqdm(cases, desc="baselines + scoring", unit="series"):
        ts, used, limit = load_series(case)
        span_days = (case.end - case.start) / 86400
        fo = foresight_runner.read_output(out_dir / case.csv.name)
        assert fo["timestamp"].size == ts.size, f"{case.name}: {fo['timestamp'].size} output rows for {ts.size}"
        tb = time.time()
        grid, alerts = baselines.run_baselines(ts, used, limit)
        t_base += time.time() - tb
        alerts = {FORESIGHT: foresight_runner.deployed_alerting(fo["timestamp"], fo["severity"], grid), **alerts}
        eps = {m: scores[m].add_series(case.kind, grid, alerting, case.failures, case.ramp_starts, span_days,
                                       case.failures_after, case=case.name, seed=case.seed)
               for m, alerting in alerts.items()}
        e, c = score.ttf_rows(fo["timestamp"], fo["p10"], fo["p50"], fo["p90"], case.failures)
        scores[FORESIGHT].errors += e
        scores[FORESIGHT].covered += c
        traces[case.name] = {"case": case, "episodes": eps}
        details[case.name] = _details(ts, used, limit, fo)
    t_score = time.time() - t0 - t_suite - t_foresight

    summaries = {n: s.summary() for n, s in scores.items()}
    tgt = score.targets(summaries, FORESIGHT, list(baselines.METHODS))
    status, sentence = report.tuning_status(generator, seed_list)
    table = report.markdown_table(summaries, tgt, FORESIGHT)
    kinds_table = report.per_kind_table(summaries)
    wrong = report.cases_section(summaries[FORESIGHT], details, START)

    out.mkdir(parents=True, exist_ok=True)
    from .plot import plot

    # The plot shows what still goes wrong first: missed failures, then false alerts.
    worst = [m["case"] for m in summaries[FORESIGHT]["missed"]] + [
        e["case"] for e in summaries[FORESIGHT]["false_episodes_list"]]
    png = plot(traces, out_dir, out / f"{name}.png", list(dict.fromkeys(worst)))
    total = time.time() - t0
    steps = sorted({c.step for c in cases})
    result = {
        "suite": {"generator": generator, "tuning": status, "series": len(cases), "seeds": seed_list, "days": days,
                  "quick": quick, "kinds": sorted({c.kind for c in cases}), "steps_s": steps,
                  "folder": str(cases[0].csv.parent)},
        "foresight": model, "methods": summaries, "targets": tgt, "plot": png.name,  # beside this file
        "timing_s": {"total_wall": total, "suite": t_suite, "foresight_backtest_wall": t_foresight,
                     "baselines_and_scoring_wall": t_score, "baselines_total": t_base,
                     "baselines_per_series": t_base / len(cases)},
        "episodes": {n: {m: v for m, v in tr["episodes"].items()} for n, tr in traces.items()},
    }
    (out / f"{name}.json").write_text(json.dumps(result, indent=1, default=float))
    source = ("loadgen's resource kinds" if generator == "loadgen"
              else "the second, independent generator (`bench/exhaustion/generator2.py`)")
    md = [f"# Exhaustion benchmark: {name}", "", sentence, "",
          f"{len(cases)} series from {source}, seeds {first_seed}..{first_seed + seeds - 1}, {days} days each "
          f"(steps {', '.join(f'{s} s' for s in steps)}; some with gaps), Foresight via `foresight backtest` vs. "
          "emulated Prometheus `predict_linear` rules, all alerting on a 60 s evaluation grid.", "",
          table, "", "## Per family", "", "Cells: warned/failures · false alert episodes · median lead.", "",
          kinds_table, "", wrong, "", f"![cases]({png.name})", "",
          f"Wall time on this machine: {total:.0f} s in all (suite {t_suite:.0f} s, foresight backtest "
          f"{t_foresight:.0f} s, baselines and scoring {t_score:.0f} s; baselines "
          f"{t_base / len(cases) * 1000:.0f} ms per series). Foresight code: `{model['folder']}`, "
          f"sources sha256 {model['sha256']}.", ""]
    (out / f"{name}.md").write_text("\n".join(md))
    print(sentence, table, kinds_table, sep="\n\n")
    print(f"\nwrote {out / (name + '.md')}, {out / (name + '.json')}, {png} in {total:.0f} s")
    return result


__all__ = ["run", "result_name", "QUICK"]
