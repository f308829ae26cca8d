"""bench/nab/run.py on a two-file corpus in NAB's layout, with a stand-in scorer that
checks what it is given (the real scorer lives outside the repository)."""
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]

SCORER = r'''
import csv, json, sys
from pathlib import Path
nab, scores = Path(sys.argv[1]), Path(sys.argv[2])
rows = {}
for data in sorted((nab / "data").glob("*/*.csv")):
    out = list(csv.DictReader(open(scores / data.name)))
    assert len(out) == sum(1 for _ in open(data)) - 1, data.name
    rows[data.name] = [float(r["anomaly_score"]) if r["anomaly_score"] else None for r in out]
# The score a real scorer would reward: the step (row 350, 351 with the late row) found,
# the quiet end of the flat file left alone. The late row has no score, nor have the rows
# of the detector's warm-up (150).
found = max(s for s in rows["step.csv"][351:] if s is not None)
quiet = max(rows["flat.csv"][300:])
assert rows["flat.csv"][:150] == [None] * 150 and None not in rows["flat.csv"][150:]
assert rows["step.csv"].count(None) == 151
print(json.dumps({p: {"score": round(100 * (found - quiet), 2), "threshold": found}
                  for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")}))
'''


def write_corpus(root: Path):
    (root / "data" / "artificial").mkdir(parents=True)
    for name, jump in (("flat.csv", 0.0), ("step.csv", 50.0)):
        lines = ["timestamp,value"]
        for i in range(400):
            value = 10.0 + (i % 7) * 0.1 + (jump if i >= 350 else 0.0)
            lines.append(f"2014-04-01 {i // 60:02d}:{i % 60:02d}:00,{value}")
        if name == "step.csv":  # one row out of time order, as in eight real NAB files
            lines.insert(200, "2014-04-01 00:00:00,10.0")
        (root / "data" / "artificial" / name).write_text("\n".join(lines) + "\n")
    (root / "labels").mkdir()
    windows = {"artificial/step.csv": [["2014-04-01 05:40:00.000000", "2014-04-01 06:10:00.000000"]],
               "artificial/flat.csv": []}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (root / "scorer.py").write_text(SCORER)


def test_runs_every_file_through_foresight_backtest_and_writes_the_table(tmp_path):
    write_corpus(tmp_path)
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, str(BENCH / "nab" / "run.py"), str(tmp_path),
                           "--scorer", str(tmp_path / "scorer.py"), "--out", str(out),
                           "--work", str(tmp_path / "work"), "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "nab.json").read_text())
    assert result["files"] == 2 and result["rows"] == 801
    # The stand-in scores the step found against the flat file's quiet end (see SCORER).
    assert result["scores"]["standard"]["score"] >= 90
    table = (out / "nab.md").read_text()
    assert "| **Foresight (this run)** |" in table and "Numenta HTM (published) | 70.1" in table
    # Each half of the fixed split is scored alone: one file of the category in each.
    assert set(result["halves"]) == {"A", "B"} and result["split"]["all"] == [2, 1]
    assert sorted(result["split"][h][0] for h in "AB") == [1, 1]
    assert "| half A (defaults chosen here) | 1 |" in table and "| half B (held out) | 1 |" in table


def test_a_folder_without_nab_data_is_a_clear_error(tmp_path):
    (tmp_path / "scorer.py").write_text("")
    proc = subprocess.run([sys.executable, str(BENCH / "nab" / "run.py"), str(tmp_path),
                           "--scorer", str(tmp_path / "scorer.py"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "no data/<category>/<file>.csv" in proc.stderr
