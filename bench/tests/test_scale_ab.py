"""bench/scale/ab.py: both versions run in turn and the table reports each."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
AB = REPO / "bench" / "scale" / "ab.py"


def test_a_short_ab_run_reports_both_versions():
    src = REPO / "predictors" / "src"
    done = subprocess.run([sys.executable, str(AB), "--base-src", str(src), "--series", "30", "--loops", "4",
                           "--rounds", "1", "--label-base", "old", "--label-new", "now"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| 30 series") and "| old | now |" in rows[0]
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| predictions out", "| whole loop"]
    assert all(row.count("p50 ") == 2 for row in rows[1:])
    assert "round 1/1: old" in done.stderr and "round 1/1: now" in done.stderr


def test_a_base_without_foresight_is_named():
    done = subprocess.run([sys.executable, str(AB), "--base-src", "/nonexistent"], capture_output=True, text=True)
    assert done.returncode == 2 and "--base-src /nonexistent: no foresight package there" in done.stderr
