"""Run `foresight backtest` as a subprocess (the user's path) and read its outputs."""
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from foresight.runtime.alert_episodes import STALE_AFTER

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


def backtest_env(source: Path | None = None) -> dict:
    """The environment of `foresight backtest`: with `source` (a `predictors/src` folder of
    another checkout or commit) first on PYTHONPATH, that copy of Foresight is the one scored."""
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(source).resolve())] + (
            [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def model_source(source: Path | None = None) -> dict:
    """Which Foresight code the backtests ran: the package folder they import and a digest of
    its Python sources, so two results can be told apart when the model changed between them."""
    found = subprocess.run([sys.executable, "-c", "import foresight; print(foresight.__file__)"],
                           env=backtest_env(source), capture_output=True, text=True, check=True)
    folder = Path(found.stdout.strip()).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return {"folder": str(folder), "sha256": digest.hexdigest()[:12]}


def foresight_command() -> list[str]:
    exe = Path(sys.executable).with_name("foresight")
    return [str(exe)] if exe.exists() else [shutil.which("foresight") or "foresight"]


def run_backtest(csvs: list[Path], out_dir: Path, jobs: int | None = None, progress=None,
                 source: Path | None = None) -> Path:
    """Backtest every CSV, `jobs` processes at a time; returns the output folder. Each file is
    written to OUT/tmp first and moved into OUT when complete, so OUT never holds a partial file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    config = out_dir / "foresight.yaml"
    config.write_text(CONFIG)
    todo = list(csvs)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    env = backtest_env(source)
    running = []
    while todo or running:
        while todo and len(running) < jobs:
            path = todo.pop(0)
            tmp = out_dir / "tmp" / path.stem
            tmp.mkdir(parents=True, exist_ok=True)
            cmd = foresight_command() + ["backtest", "-c", str(config), "--output-dir", str(tmp), str(path)]
            with (tmp / "stderr.txt").open("w") as err:  # a file: a pipe left unread could fill and block
                running.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env), path, tmp))
        done = [r for r in running if r[0].poll() is not None]
        if not done:
            time.sleep(0.2)
        for proc, path, tmp in done:
            running.remove((proc, path, tmp))
            if proc.returncode != 0:
                for other, _, _ in running:
                    other.kill()
                err = (tmp / "stderr.txt").read_text()[-2000:]
                raise RuntimeError(f"foresight backtest of {path} failed ({proc.returncode}): {err}")
            (tmp / path.name).rename(out_dir / path.name)
            if progress:
                progress(1)
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
    return {"timestamp": np.array(ts), "p10": np.array(p10), "p50": np.array(p50), "p90": np.array(p90),
            "probability_6h": np.array(prob6), "severity": np.array(sev)}


def published_severity(ts: np.ndarray, severity: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The severity a rule evaluation at each grid time sees: the latest output row's, while
    that prediction is younger than the publisher's STALE_AFTER (1 h); then none. So an input
    gap shorter than that keeps the level, as the sidecar keeps publishing it."""
    idx = np.searchsorted(ts, grid, side="right") - 1
    fresh = (idx >= 0) & (grid - ts[np.clip(idx, 0, None)] < STALE_AFTER)
    return np.where(fresh, np.asarray(severity)[np.clip(idx, 0, None)], "")


def deployed_alerting(ts: np.ndarray, severity: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """When Foresight's alert rules fire at each grid time: each severity held for its rule's
    `for:` on the same evaluation grid as the baselines (the rules file is the one source of
    the durations)."""
    seen = published_severity(ts, severity, grid)
    firing = np.zeros(grid.size, dtype=bool)
    for level, hold in exhaustion_rule_holds().items():
        firing |= baselines.hold_for(grid, seen == level, hold)
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
