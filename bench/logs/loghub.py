#!/usr/bin/env python3
"""Grouping accuracy on the labelled 2,000-line samples of Loghub (16 systems).

  .venv/bin/python bench/logs/loghub.py LOGHUB_DIR [--half tuning|held-out|all] [--before JSON]
                                        [--errors N] [--out DIR]

LOGHUB_DIR holds <System>/<System>_2k.log_structured.csv (columns Content, EventId, ...),
from the Loghub repository (research and academic use; cite Zhu et al., "Loghub: A Large
Collection of System Log Datasets for AI-driven Log Analytics", ISSRE 2023). The data is not
part of Foresight. With no LOGHUB_DIR, or one that does not exist, it says so and exits 0,
so `make bench` runs without the data.

Each system's `Content` column (the log body, as the sidecar receives it) goes through
three miners in the same run: Foresight's miner with its defaults, plain Drain3 with no
masking, and Drain3 with its example masking. GA as in the Loghub/Drain papers: a line is
correct when its mined group holds exactly the lines of its true template (`EventId`).

The systems are split in two halves, fixed before any result was seen: the miner's
defaults were chosen on the tuning half only; the held-out half is reported.
"""
import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from foresight.predictors.logs import TemplateMiner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from drain3_baselines import drain3_grouper, grouping_accuracy  # noqa: E402

HALVES = {
    "tuning": ("Android", "BGL", "HPC", "HealthApp", "Mac", "OpenStack", "Spark", "Windows"),
    "held-out": ("Apache", "HDFS", "Hadoop", "Linux", "OpenSSH", "Proxifier", "Thunderbird", "Zookeeper"),
}
LINES = 2000
FORESIGHT = "foresight miner, defaults"
MINERS = {
    FORESIGHT: lambda: TemplateMiner().template_id,
    "drain3, no masking": lambda: drain3_grouper(False),
    "drain3, example masking": lambda: drain3_grouper(True),
}
# Drain with a hand-written mask and tuned settings per dataset (Zhu et al., ICSE-SEIP 2019).
PUBLISHED_DRAIN = {"Android": 0.911, "BGL": 0.963, "HPC": 0.887, "HealthApp": 0.780, "Mac": 0.787,
                   "OpenStack": 0.733, "Spark": 0.920, "Windows": 0.997, "Apache": 1.0, "HDFS": 0.998,
                   "Hadoop": 0.948, "Linux": 0.690, "OpenSSH": 0.788, "Proxifier": 0.527, "Thunderbird": 0.955,
                   "Zookeeper": 0.967}


def read_system(folder: Path, system: str) -> tuple[list[str], list[str]]:
    """(contents, true template ids); ValueError naming the file and what is wrong with it."""
    path = folder / system / f"{system}_2k.log_structured.csv"
    if not path.is_file():
        raise ValueError(f"{path}: missing")
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        missing = {"Content", "EventId"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: no column {', '.join(sorted(missing))}")
        rows = list(reader)
    if len(rows) != LINES:
        raise ValueError(f"{path}: {len(rows)} rows, expected {LINES} (still being copied?)")
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


def score_system(contents: list[str], truth: list[str]) -> dict:
    out = {"true_templates": len(set(truth))}
    for name, make in MINERS.items():
        mine = make()
        t0 = time.process_time()
        mined = [mine(body) for body in contents]
        out[name] = {"grouping_accuracy": round(grouping_accuracy(truth, mined), 4), "groups": len(set(mined)),
                     "cpu_seconds": round(time.process_time() - t0, 3)}
        if name == FORESIGHT:
            out["_mined"] = mined
    return out


def errors(contents: list[str], truth: list[str], mined: list, limit: int) -> list[str]:
    """The true templates grouped wrongly, largest first, with the mined groups they fell into."""
    by_truth, by_group = defaultdict(Counter), defaultdict(Counter)
    example = {}
    for body, t, m in zip(contents, truth, mined):
        by_truth[t][m] += 1
        by_group[m][t] += 1
        example.setdefault((t, m), body)
    wrong = [t for t, groups in by_truth.items()
             if len(groups) > 1 or len(by_group[next(iter(groups))]) > 1]
    wrong.sort(key=lambda t: -sum(by_truth[t].values()))
    out = []
    for t in wrong[:limit]:
        out.append(f"  {t} ({sum(by_truth[t].values())} lines) -> {len(by_truth[t])} groups:")
        for m, n in by_truth[t].most_common(4):
            others = sum(by_group[m].values()) - n
            out.append(f"    {n:4d} in group {m} (+{others} of other templates): {example[(t, m)][:150]}")
    return out


def average(values: list) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def run(folder: Path, systems: list[str], error_limit: int) -> dict:
    miner = TemplateMiner()
    settings = {"similarity": miner.drain.sim_th, "depth": miner.drain.log_cluster_depth}
    result = {"run": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "folder": str(folder),
                      "foresight_settings": settings},
              "systems": {}, "skipped": {}}
    for system in systems:
        try:
            contents, truth = read_system(folder, system)
        except ValueError as exc:
            result["skipped"][system] = str(exc)
            print(f"skipped {exc}", file=sys.stderr)
            continue
        scores = score_system(contents, truth)
        mined = scores.pop("_mined")
        result["systems"][system] = scores
        print(f"{system:10s} " + "  ".join(f"{name}: {scores[name]['grouping_accuracy']:.3f}" for name in MINERS),
              file=sys.stderr)
        if error_limit:
            print("\n".join(errors(contents, truth, mined, error_limit)), file=sys.stderr)
    result["averages"] = {}
    for half, names in list(HALVES.items()) + [("all", sum(HALVES.values(), ()))]:
        present = [s for s in names if s in result["systems"]]
        if present:
            result["averages"][half] = {"systems": len(present), "of": len(names), **{
                name: average([result["systems"][s][name]["grouping_accuracy"] for s in present]) for name in MINERS},
                "published Drain, per-dataset masks": average([PUBLISHED_DRAIN[s] for s in present])}
    return result


def write_report(result: dict, out_dir: Path, before: dict | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs-loghub.json").write_text(json.dumps(result, indent=2) + "\n")
    old = (before or {}).get("systems", {})
    names = list(MINERS)
    head = ["system", "true templates"] + ([f"{FORESIGHT} (before)"] if before else []) + names + [
        "published Drain, per-dataset masks"]
    lines = [
        "# Log template mining on Loghub's labelled 2k samples",
        "",
        f"Run {result['run']['date']}. Reproduce: `.venv/bin/python bench/logs/loghub.py LOGHUB_DIR` "
        "(or `make bench LOGHUB_DIR=...`). Data: Loghub (Zhu et al., ISSRE 2023; research and academic use), "
        "not part of Foresight.",
        "",
        "Grouping accuracy (GA): a line is correct when its mined group holds exactly the lines of its true "
        "template. Each miner reads the `Content` column, one fresh miner per system, one set of settings for "
        "all systems; a line's group is the template id the miner returned for it, as the sidecar counts it. "
        f"Foresight's settings: {result['run'].get('foresight_settings', 'its defaults')}. Foresight's defaults were chosen on the tuning half only; the held-out half "
        "only decides whether a change is kept (bench/logs/README.md lists each time it was run). The last column is from the Drain paper's benchmark (Zhu et al., ICSE-SEIP 2019), "
        "with a hand-written mask and settings per dataset, for reference, not run here.",
        "",
    ]
    if before:
        lines += [f"\"(before)\" is Foresight's miner as of {before.get('label', before['run']['date'])}.", ""]
    for half, systems in list(HALVES.items()):
        lines += [f"## {half} half", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for s in systems:
            r = result["systems"].get(s)
            if r is None:
                lines.append(f"| {s} | skipped: {result['skipped'].get(s, 'not run')} |")
                continue
            cells = [s, str(r["true_templates"])]
            if before:
                cells.append(f"{old[s][FORESIGHT]['grouping_accuracy']:.3f}" if s in old else "-")
            cells += [f"{r[n]['grouping_accuracy']:.3f}" for n in names] + [f"{PUBLISHED_DRAIN[s]:.3f}"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Averages", "", "| half | systems | " + " | ".join(head[2:]) + " |", "|" + "---|" * (len(head))]
    old_avg = (before or {}).get("averages", {})
    for half, a in result["averages"].items():
        cells = [half, f"{a['systems']} of {a['of']}"]
        if before:
            b = old_avg.get(half, {}).get(FORESIGHT)
            cells.append(f"{b:.3f}" if b is not None and old_avg[half]["systems"] == a["systems"] else "-")
        cells += [f"{a[n]:.3f}" for n in names] + [f"{a['published Drain, per-dataset masks']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    (out_dir / "logs-loghub.md").write_text("\n".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", nargs="?", type=Path, help="the Loghub folder (<System>/<System>_2k.log_structured.csv)")
    p.add_argument("--half", choices=("tuning", "held-out", "all"), default="all", help="systems to run")
    p.add_argument("--before", type=Path, help="an earlier logs-loghub.json, shown as Foresight's 'before' column")
    p.add_argument("--errors", type=int, default=0, help="print the N largest wrongly grouped templates per system")
    p.add_argument("--out", type=Path, default=HERE.parent / "bench-results", help="results folder")
    p.add_argument("--no-write", action="store_true", help="print the averages only (for tuning)")
    args = p.parse_args(argv)
    if args.folder is None or not args.folder.is_dir():
        print(f"loghub benchmark skipped: no Loghub folder ({args.folder or 'set LOGHUB_DIR'}); "
              "see bench/logs/README.md", file=sys.stderr)
        return 0
    systems = sum(HALVES.values(), ()) if args.half == "all" else HALVES[args.half]
    result = run(args.folder, list(systems), args.errors)
    print(json.dumps(result["averages"], indent=1))
    if not args.no_write:
        before = json.loads(args.before.read_text()) if args.before else None
        write_report(result, args.out, before)
        print((args.out / "logs-loghub.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
