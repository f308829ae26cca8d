"""Run `foresight backtest` as a subprocess (the user's path) and read its outputs."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import baselines

CONFIG = """predictors:
  - name: used
    kind: exhaustion
    series: used
    limit_series: limit
    horizon: 24h
"""
ALERTING = {"warning", "critical"}
RULES = Path(__file__).resolve().parents[2] / "prometheus" / "rules" / "foresight.rules.yml"


def foresight_command() -> list[str]:
    exe = Path(sys.executable).with_name("foresight")
    return [str(exe)] if exe.exists() else [shutil.which("foresight") or "foresight"]


def run_backtest(csvs: list[Path], out_dir: Path, jobs: int | None = None, progress=None) -> Path:
    """Backtest every CSV (in `jobs` parallel processes); returns the output folder."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "foresight.yaml"
    config.write_text(CONFIG)
    todo = list(csvs)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    chunks = [todo[i::jobs] for i in range(jobs)]
    procs = []
    for chunk in chunks:
        if not chunk:
            continue
        cmd = " && ".join(
            " ".join(map(str, foresight_command() + ["backtest", "-c", config, "--output-dir", out_dir / "tmp", p,
                                                     "&&", "mv", out_dir / "tmp" / p.name, out_dir / p.name]))
            for p in chunk)
        procs.append((subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE), chunk))
    for proc, chunk in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"foresight backtest failed ({proc.returncode}): {err.decode()[-2000:]}")
        if progress:
            progress(len(chunk))
    return out_dir


def _num(text: str) -> float:
    return float(text) if text not in ("", None) else float("nan")


def read_output(path: Path, predictor: str = "used") -> dict:
    ts, p10, p50, p90, sev, prob6 = [], [], [], [], [], []
    with path.open() as f:
        for row in csv.DictReader(f):
            if row["predictor"] != predictor:
                continue
            ts.append(float(row["timestamp"]))
            p10.append(_num(row["ttf_p10_seconds"]))
            p50.append(_num(row["ttf_p50_seconds"]))
            p90.append(_num(row["ttf_p90_seconds"]))
            prob6.append(_num(row["probability_6h"]))
            sev.append(row["severity"] or "")
    sev = np.array(sev)
    ts = np.array(ts)
    return {"timestamp": ts, "p10": np.array(p10), "p50": np.array(p50), "p90": np.array(p90),
            "probability_6h": np.array(prob6), "severity": sev, "alerting": deployed_alerting(ts, sev)}


def deployed_alerting(ts: np.ndarray, severity: np.ndarray) -> np.ndarray:
    """When Foresight's alert rules fire: each severity held for its rule's `for:`, exactly as
    the baselines are scored with theirs (the rules file is the one source of the durations)."""
    firing = np.zeros(ts.size, dtype=bool)
    for level, hold in exhaustion_rule_holds().items():
        firing |= baselines.hold_for(ts, severity == level, hold)
    return firing


def exhaustion_rule_holds() -> dict:
    """severity -> `for:` seconds of the ForesightExhaustionPredicted rules."""
    import yaml

    from foresight.contracts.durations import parse_duration

    rules = yaml.safe_load(RULES.read_text())
    holds = {}
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "ForesightExhaustionPredicted":
                holds[rule["labels"]["severity"]] = parse_duration(rule.get("for", "0s"))
    if set(holds) != ALERTING:
        raise RuntimeError(f"{RULES}: expected ForesightExhaustionPredicted rules for {sorted(ALERTING)}")
    return holds
