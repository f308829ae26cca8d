#!/usr/bin/env python3
"""Log template mining benchmark: throughput and grouping accuracy.

  .venv/bin/python bench/logs/bench.py [--lines 300000] [--baseline-lines 20000] [--out bench/bench-results]

Throughput: `LogPatternDetector.add` (masking + masked-text cache + Drain on misses +
counting per service/template/severity/bucket) over a generated stream in which every
line carries fresh ids, numbers and IPs, with `evaluate()` called every 10 s of event
time, all timed on one core (process CPU time and wall time). Compared in the same run
with plain Drain3 (`drain3.TemplateMiner`, with no masking and with the masking rules of
Drain3's example config) and with Foresight's masking + Drain without the cache.

Accuracy: grouping accuracy (GA, as in the Loghub/Drain papers: a line counts as
correct when the set of lines in its mined group equals the set of lines of its true
template) on bench/logs/labelled.csv, for the same four miners.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from foresight.predictors.logs import LogPatternDetector, LogRecord, LogSettings, mask
from foresight.predictors.logs.miner import TemplateMiner

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from drain3_baselines import drain3_miner, grouping_accuracy  # noqa: E402
import scenarios  # noqa: E402

TARGET_PER_SECOND = 100_000
LINES_PER_EVENT_SECOND = 2000  # event-time density of the generated stream
EVALUATE_EVERY = 10.0  # seconds of event time between evaluate() calls
START = 1_767_225_600.0


def miners():
    """name -> function(body) -> group key, each on a fresh miner."""
    fresh = TemplateMiner()
    uncached = TemplateMiner()
    plain, masked = drain3_miner(False), drain3_miner(True)
    return {
        "foresight (mask + cache + Drain)": fresh.template_id,
        "foresight mask + Drain, no cache": lambda body: uncached.cache.clear() or uncached.template_id(body),
        "drain3 TemplateMiner, no masking": lambda body: plain.add_log_message(body)["cluster_id"],
        "drain3 TemplateMiner, example masking": lambda body: masked.add_log_message(body)["cluster_id"],
    }


def accuracy() -> dict:
    rows = generate.read_labelled()
    truth = [r["template_id"] for r in rows]
    out = {"lines": len(rows), "true_templates": len(set(truth)), "miners": {}}
    for name, mine in miners().items():
        mined = [mine(r["body"]) for r in rows]
        out["miners"][name] = {"grouping_accuracy": round(grouping_accuracy(truth, mined), 4),
                               "groups": len(set(mined))}
    return out


def stream(count: int, seed: int = 11) -> list[LogRecord]:
    return [LogRecord(START + n / LINES_PER_EVENT_SECOND, service, severity, body)
            for n, (_, service, severity, body) in enumerate(generate.lines(count, seed))]


def time_detector(records: list[LogRecord]) -> dict:
    detector = LogPatternDetector(LogSettings())
    chunk = 1000
    next_evaluation = START + EVALUATE_EVERY
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(0, len(records), chunk):
        batch = records[i:i + chunk]
        detector.add(batch)
        if batch[-1].timestamp >= next_evaluation:
            detector.evaluate(batch[-1].timestamp)
            next_evaluation += EVALUATE_EVERY
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"lines": len(records), "cpu_seconds": round(cpu, 3), "wall_seconds": round(wall, 3),
            "lines_per_cpu_second": round(len(records) / cpu), "lines_per_wall_second": round(len(records) / wall),
            "drain_tree_searches": detector.miner.misses, "templates": detector.miner.template_count,
            "rejected": dict(detector.bad)}


def time_function(name: str, mine, bodies: list[str]) -> dict:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for body in bodies:
        mine(body)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"lines": len(bodies), "cpu_seconds": round(cpu, 3), "lines_per_cpu_second": round(len(bodies) / cpu),
            "lines_per_wall_second": round(len(bodies) / wall)}


def throughput(lines: int, baseline_lines: int) -> dict:
    records = stream(lines)
    out = {"foresight LogPatternDetector.add + evaluate": time_detector(records)}
    bodies = [r.body for r in records[:baseline_lines]]
    out["foresight mask only"] = time_function("mask", mask, bodies)
    for name, mine in miners().items():
        if name.startswith("foresight (mask"):
            continue
        out[name] = time_function(name, mine, bodies)
    return out


def write_report(result: dict, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "logs.json").write_text(json.dumps(result, indent=2) + "\n")
    t = result["throughput"]
    main = t["foresight LogPatternDetector.add + evaluate"]
    lines = [
        "# Log template mining benchmark (one core)",
        "",
        f"Run {result['run']['date']} on {result['run']['machine']}, load average at start "
        f"{result['run']['load_average']} (the 2 cores are shared, so wall time is noisier than CPU time).",
        "Reproduce: `.venv/bin/python bench/logs/bench.py`.",
        "",
        "## Throughput",
        "",
        f"Stream: {main['lines']} generated lines from 5 services and {len(generate.TEMPLATES)} templates; every "
        "line has fresh request/trace ids, UUIDs, IPs, ports, durations and sizes. Timed: masking, masked-text "
        f"cache, Drain on cache misses, counting, and `evaluate()` every {EVALUATE_EVERY:g} s of event time.",
        "",
        "| miner | lines timed | lines / CPU second | lines / wall second |",
        "|---|---|---|---|",
    ]
    for name, r in t.items():
        lines.append(f"| {name} | {r['lines']} | {r['lines_per_cpu_second']:,} | {r['lines_per_wall_second']:,} |")
    speedup = main["lines_per_cpu_second"] / t["drain3 TemplateMiner, example masking"]["lines_per_cpu_second"]
    ok = "yes" if main["lines_per_cpu_second"] >= TARGET_PER_SECOND else "NO"
    lines += [
        "",
        f"Target >= {TARGET_PER_SECOND:,} lines per second per core through mining and counting: **{ok}** "
        f"({main['lines_per_cpu_second']:,} per CPU second). Drain tree searches (cache misses): "
        f"{main['drain_tree_searches']} of {main['lines']} lines; templates learned: {main['templates']}. "
        f"Speed-up over Drain3 with its example masking: {speedup:.0f}x.",
        "",
        "## Grouping accuracy",
        "",
        f"`bench/logs/labelled.csv`: {result['accuracy']['lines']} lines, {result['accuracy']['true_templates']} "
        "true templates (made by `bench/logs/generate.py`, seed 7). GA = share of lines whose mined group holds "
        "exactly the lines of their true template. Foresight's miner runs with its defaults (similarity 0.7 over "
        "a template's constant words, depth 4), chosen on half of Loghub's labelled samples "
        "(`logs-loghub.md`), not on this set. Known misses: a template whose first word is a parameter "
        "(`{sql} on table ...`) is split per value by Drain's prefix tree, and a hex request id without a "
        "letter is masked as a number, so `request_id=<NUM>` and `request_id=<ID>` are different words.",
        "",
        "| miner | grouping accuracy | groups found |",
        "|---|---|---|",
    ]
    for name, r in result["accuracy"]["miners"].items():
        lines.append(f"| {name} | {r['grouping_accuracy']:.3f} | {r['groups']} |")
    lines += [
        "",
        "## Signals on loadgen's scenarios",
        "",
        "Each scenario's simulated log lines (`loadgen/src/loadgen/events.py`, seed 1, 60 s steps) fed to a "
        f"`LogPatternDetector` with default settings, `evaluate()` every {scenarios.EVALUATE_EVERY // 60} min of event "
        f"time; an alert is a signal with anomaly_score >= {scenarios.ALERT_SCORE} (for the failing service when "
        "there is a failure; counted over all services in the last column). Logs alone, with no metrics.",
        "",
        "| scenario | failure at (h) | first alert (h) | lead (min) | evaluations over 0.5, all services | "
        "first alert says |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["scenarios"]:
        lines.append(f"| {row['scenario']} | {row['failure_at_h'] or '-'} | {row['first_alert_at_h'] or '-'} | "
                     f"{row['lead_minutes'] if row['lead_minutes'] is not None else '-'} | "
                     f"{row['evaluations_with_score_over_0.5']} | {row['first_alert_explanation'] or '-'} |")
    lines.append("")
    (out_dir / "logs.md").write_text("\n".join(lines))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, default=300_000, help="lines in the timed stream (default %(default)s)")
    p.add_argument("--baseline-lines", type=int, default=20_000,
                   help="lines timed for the slower miners (default %(default)s)")
    p.add_argument("--out", type=Path, default=HERE.parent / "bench-results", help="results folder")
    args = p.parse_args(argv)
    result = {
        "run": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.machine() + " " +
                platform.python_implementation() + " " + platform.python_version(),
                "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg())},
        "accuracy": accuracy(),
        "throughput": throughput(args.lines, args.baseline_lines),
        "scenarios": scenarios.run_all(),
    }
    write_report(result, args.out)
    print((args.out / "logs.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
