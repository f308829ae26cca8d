"""The Loghub grouping benchmark: reading the samples, skipping bad ones, scoring."""
import csv
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "logs"))
import loghub  # noqa: E402
from drain3_baselines import grouping_accuracy  # noqa: E402


def _write(folder: Path, system: str, rows: list[tuple[str, str]], columns=("LineId", "Content", "EventId")):
    path = folder / system / f"{system}_2k.log_structured.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for n, (content, event) in enumerate(rows):
            out.writerow([n + 1, content, event][:len(columns)])
    return path


def _sample(n=loghub.LINES):
    """Two true templates: a job line with a varying number, and a disk line with a varying path."""
    return [(f"job {i} finished in {i % 90}ms", "E1") if i % 3 else (f"disk /data/vol{i}/x full", "E2")
            for i in range(n)]


def test_grouping_accuracy_counts_whole_groups_only():
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 1]) == 0.0  # merged: no line is right
    assert grouping_accuracy(["a", "a", "b"], [1, 2, 3]) == pytest.approx(1 / 3)  # split: only "b" is right


def test_bad_samples_are_skipped_with_the_file_and_the_reason(tmp_path):
    _write(tmp_path, "Spark", _sample(10))
    _write(tmp_path, "HDFS", _sample(), columns=("LineId", "Content"))
    result = loghub.run(tmp_path, ["Spark", "HDFS", "Linux"], 0)
    assert result["systems"] == {}
    assert "10 rows, expected 2000" in result["skipped"]["Spark"]
    assert "Spark_2k.log_structured.csv" in result["skipped"]["Spark"]
    assert result["skipped"]["HDFS"].endswith("no column EventId")
    assert result["skipped"]["Linux"].endswith("missing")
    assert result["averages"] == {}


def test_scores_each_miner_and_averages_the_present_systems(tmp_path):
    _write(tmp_path, "Spark", _sample())
    result = loghub.run(tmp_path, ["Spark", "Windows"], 0)
    spark = result["systems"]["Spark"]
    assert spark["true_templates"] == 2
    # Needs the path mask: unmasked, "disk <path> full" keeps 2 of its 3 words and splits.
    assert spark[loghub.FORESIGHT]["grouping_accuracy"] == 1.0
    assert set(spark) == {"true_templates", *loghub.MINERS}
    tuning = result["averages"]["tuning"]
    assert (tuning["systems"], tuning["of"]) == (1, 8)
    assert tuning[loghub.FORESIGHT] == 1.0
    assert "held-out" not in result["averages"]
    loghub.write_report(result, tmp_path / "out", None)
    report = (tmp_path / "out" / "logs-loghub.md").read_text()
    assert "| Spark | 2 | 1.000 |" in report and "| Windows | skipped:" in report


def test_without_a_folder_it_says_so_and_succeeds(capsys):
    assert loghub.main([]) == 0
    assert "loghub benchmark skipped" in capsys.readouterr().err
