"""bench/crashruns/run.py end to end on the shortest run of a few seeds: Foresight and
node-mixin both scored, every alert put on a node, and the report and JSON written."""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "bench" / "crashruns" / "run.py"
sys.path.insert(0, str(REPO / "bench"))
from crashruns.cluster import crash_run  # noqa: E402


def shortest(fault: str, seeds=range(1, 30)) -> int:
    return min(seeds, key=lambda s: (lambda r: r.end - r.start)(crash_run(fault, s)))


def test_one_short_run_is_replayed_scored_and_reported(tmp_path):
    seed = shortest("cpu-hog")
    done = subprocess.run([sys.executable, str(RUN), "--seeds", str(seed), "--faults", "cpu-hog", "--every", "600",
                           "--jobs", "1", "--name", "smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"[1/1] cpu-hog-s{seed}" in done.stderr
    (run,) = json.loads((tmp_path / "smoke.json").read_text())["runs"]
    assert run["accepted"] > 100_000 and run["errors"] == 0 and run["evaluations"] > 10
    episodes = run["foresight"]["episodes"] + run["node-mixin"]["episodes"]
    assert run["node-mixin"]["episodes"] and run["foresight"]["warned"] in (True, False)
    assert all(e["instance"].endswith(":9100") for e in episodes)  # each alert is on a node
    report = (tmp_path / "smoke.md").read_text()
    assert "| all | 1 |" in report and "| cpu-hog | 1 |" in report and "sources sha256 " in report


def test_bad_options_are_named():
    done = subprocess.run([sys.executable, str(RUN), "--every", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--every" in done.stderr
    done = subprocess.run([sys.executable, str(RUN), "--faults", "meteor"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "meteor" in done.stderr


def test_kinds_keep_only_those_predictors():
    from crashruns.run import chosen_config  # noqa: E402

    everything = chosen_config(None)
    exhaustion = chosen_config(["exhaustion"])
    assert {p.kind for p in everything.predictors} == {"exhaustion", "anomaly"}
    assert {p.name for p in exhaustion.predictors} == {p.name for p in everything.predictors if p.kind == "exhaustion"}
    assert exhaustion.source.endswith("(kinds: exhaustion)")
    done = subprocess.run([sys.executable, str(RUN), "--kinds", "logs"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "logs" in done.stderr
