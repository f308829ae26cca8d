"""`foresight backtest`: CSV history through the live engine, row by row."""
import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from foresight.runtime.backtest import OUTPUT_COLUMNS
from foresight.runtime.cli import main
from foresight.sources.csv_table import parse_timestamp

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
STEP = 60
SEVERITY_RANK = {"": 0, "info": 1, "warning": 2, "critical": 3}

CONFIG_LIMIT_SERIES = """\
predictors:
  - name: used
    kind: exhaustion
    series: used
    limit_series: limit
    horizon: 24h
"""
CONFIG_LIMIT_CONSTANT = """\
predictors:
  - name: used
    kind: exhaustion
    series: used
    limit: 100
    horizon: 24h
"""
CONFIG_BOTH = """\
predictors:
  - name: by_series
    kind: exhaustion
    series: used
    limit_series: limit
  - name: by_constant
    kind: exhaustion
    series: used
    limit: 100
"""


def fill_values(flat_hours=49.5, ramp_hours=7.5, level=20.0, per_hour=10.0) -> list[float]:
    """Flat at `level`, then a linear fill towards 100 (reached after 8 h of ramp)."""
    values = [level] * int(flat_hours * 3600 / STEP)
    values += [level + per_hour * (i * STEP) / 3600 for i in range(int(ramp_hours * 3600 / STEP))]
    return values


def unix_stamps(n: int, start=T0) -> list[str]:
    return [str(start + i * STEP) for i in range(n)]


def write_csv(path: Path, stamps, used, limit=None, extra_columns=None) -> Path:
    header = ["timestamp", "used"] + (["limit"] if limit is not None else [])
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header + list(extra_columns or {}))
        for i, (stamp, value) in enumerate(zip(stamps, used)):
            row = [stamp, value] + ([limit] if limit is not None else [])
            writer.writerow(row + [values[i] for values in (extra_columns or {}).values()])
    return path


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "predictors.yaml"
    path.write_text(text)
    return path


def backtest(tmp_path, config_text, *inputs, out="out") -> tuple[int, Path]:
    config = write_config(tmp_path, config_text)
    output_dir = tmp_path / out
    code = main(["backtest", "-c", str(config), "--output-dir", str(output_dir), *map(str, inputs)])
    return code, output_dir


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def ttf(row) -> float:
    return float(row["ttf_p50_seconds"])


# -- the minimal config on a linear fill ----------------------------------------------------

@pytest.mark.parametrize("config_text, limit", [(CONFIG_LIMIT_SERIES, 100), (CONFIG_LIMIT_CONSTANT, None)],
                         ids=["limit_series", "limit_constant"])
def test_linear_fill(tmp_path, capsys, config_text, limit):
    values = fill_values()
    data = write_csv(tmp_path / "fill.csv", unix_stamps(len(values)), values, limit=limit)
    code, out = backtest(tmp_path, config_text, data)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""  # no progress bar when stderr is not a terminal

    with open(out / "fill.csv", newline="") as handle:
        header = next(csv.reader(handle))
    assert tuple(header[:len(OUTPUT_COLUMNS)]) == OUTPUT_COLUMNS
    rows = read_rows(out / "fill.csv")
    assert [r["timestamp"] for r in rows] == unix_stamps(len(values))  # one row per timestamp
    assert {r["predictor"] for r in rows} == {"used"}
    assert [float(r["value"]) for r in rows] == values
    assert all(r["anomaly_score"] == "" for r in rows)  # does not apply to kind exhaustion

    # Before enough points (min_points 10) there is no prediction: empty fields.
    assert all(r["ttf_p50_seconds"] == "" and r["severity"] == "" for r in rows[:9])
    # Past the policy's min_history (36 h) and, a flat series having no daily profile, its peer_history (49 h)
    flat_end = int(49.5 * 3600 / STEP)
    flat = rows[9:flat_end]
    assert flat and all(r["ttf_p10_seconds"] == r["ttf_p50_seconds"] == r["ttf_p90_seconds"] == "inf" for r in flat)
    assert all(r["severity"] == "" for r in flat)

    # Once the lookback (2 h, plus a margin) sees only the fill: TTF shrinks, severity rises.
    ramp = rows[flat_end + 150:]
    ttfs = [ttf(r) for r in ramp]
    assert all(later <= earlier for earlier, later in zip(ttfs, ttfs[1:]))
    assert ttfs[0] > ttfs[-1]
    # At the end, 95 of 100 rising 10 per hour: about 30 minutes left.
    assert ttfs[-1] == pytest.approx(1800, rel=0.2)
    ranks = [SEVERITY_RANK[r["severity"]] for r in rows[flat_end:]]
    assert all(later >= earlier for earlier, later in zip(ranks, ranks[1:]))
    assert ranks[-1] == 3 and {1, 2} <= set(ranks)
    assert all(0.0 <= float(r[c]) <= 1.0 for r in ramp for c in ("probability_1h", "probability_6h", "probability_24h"))



def test_a_fill_in_the_second_day_only_pages_until_two_days_are_watched(tmp_path):
    """A target without a daily profile (one needs two whole days) may only page until
    `peer_history` (49 h): a fill that begins 37 h in, where a second morning's climb would be,
    goes straight to critical; with `peer_history: 0s` it warns first."""
    values = fill_values(flat_hours=37, ramp_hours=7.5)

    data = write_csv(tmp_path / "fill.csv", unix_stamps(len(values)), values)

    def severities(config_text):
        code, out = backtest(tmp_path, config_text, data, out=f"out-{len(config_text)}")
        assert code == 0
        return [r["severity"] for r in read_rows(out / "fill.csv")]
    by_default = severities(CONFIG_LIMIT_CONSTANT)
    assert "critical" in by_default and not {"info", "warning"} & set(by_default)
    shorter = severities(CONFIG_LIMIT_CONSTANT + "    policy: {peer_history: 0s}\n")
    assert "critical" in shorter and "warning" in shorter

def test_rows_between_evaluations_carry_the_latest_prediction(tmp_path):
    # Rows every 20 s with evaluate_every 1m: the two rows after an evaluation repeat it.
    config_text = CONFIG_LIMIT_CONSTANT + "    evaluate_every: 1m\n"
    n = 300
    stamps = [str(T0 + 20 * i) for i in range(n)]
    data = write_csv(tmp_path / "fast.csv", stamps, [10 + 0.01 * i for i in range(n)])
    assert backtest(tmp_path, config_text, data)[0] == 0
    rows = read_rows(tmp_path / "out" / "fast.csv")
    predicted_at = [r["predicted_at"] for r in rows if r["predicted_at"]]
    assert len(predicted_at) == len(rows) - 9
    assert len(set(predicted_at)) == pytest.approx(len(predicted_at) / 3, abs=1)
    for r in rows[9:]:
        assert float(r["predicted_at"]) <= float(r["timestamp"])  # never from a later row


def test_gaps_and_nan_are_skipped(tmp_path):
    values = fill_values(flat_hours=0.5, ramp_hours=1)
    cells = [str(v) for v in values]
    cells[20], cells[21], cells[22] = "", "NaN", "nan"
    data = write_csv(tmp_path / "gaps.csv", unix_stamps(len(cells)), cells, limit=100)
    assert backtest(tmp_path, CONFIG_LIMIT_SERIES, data)[0] == 0
    rows = read_rows(tmp_path / "out" / "gaps.csv")
    assert len(rows) == len(cells)
    assert [rows[i]["value"] for i in (20, 21, 22)] == ["", "", ""]
    # The row without a value repeats the prediction made before it.
    assert rows[20]["predicted_at"] == rows[19]["predicted_at"] == str(float(T0 + 19 * STEP))


# -- timestamps ----------------------------------------------------------------------------

def test_the_timestamp_formats_give_the_same_results(tmp_path):
    values = fill_values(flat_hours=1, ramp_hours=3)
    n = len(values)
    times = [datetime.fromtimestamp(T0 + i * STEP, timezone.utc) for i in range(n)]
    plus_two = timezone(timedelta(hours=2))
    formats = {
        "unix.csv": unix_stamps(n),
        "rfc3339_z.csv": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times],
        "rfc3339_offset.csv": [t.astimezone(plus_two).isoformat() for t in times],
        "plain_utc.csv": [t.strftime("%Y-%m-%d %H:%M:%S") for t in times],
    }
    inputs = [write_csv(tmp_path / name, stamps, values, limit=100) for name, stamps in formats.items()]
    assert backtest(tmp_path, CONFIG_LIMIT_SERIES, *inputs)[0] == 0

    results = {}
    for name, stamps in formats.items():
        rows = read_rows(tmp_path / "out" / name)
        assert [r["timestamp"] for r in rows] == stamps  # written as in the input
        results[name] = [{k: v for k, v in r.items() if k != "timestamp"} for r in rows]
    assert results["rfc3339_z.csv"] == results["unix.csv"]
    assert results["rfc3339_offset.csv"] == results["unix.csv"]
    assert results["plain_utc.csv"] == results["unix.csv"]


def test_parse_timestamp():
    assert parse_timestamp("1767225600") == T0
    assert parse_timestamp("1767225600.25") == T0 + 0.25
    assert parse_timestamp("2026-01-01T00:00:00Z") == T0
    assert parse_timestamp("2026-01-01T02:00:00+02:00") == T0
    assert parse_timestamp("2026-01-01 00:00:00") == T0
    assert parse_timestamp("2026-01-01T00:00:00.5Z") == T0 + 0.5
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "2026-01-01", "1.7e9", ""):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


# -- causality -----------------------------------------------------------------------------

def test_past_outputs_do_not_depend_on_future_rows(tmp_path):
    values = fill_values(flat_hours=1, ramp_hours=4)
    cut = 200  # rows [0, cut) are shared; what follows differs
    stamps = unix_stamps(len(values))
    original = write_csv(tmp_path / "original.csv", stamps, values, limit=100)
    # A different future: a sudden drop (a reset), then fast growth, at another spacing.
    future_values = values[:cut] + [5.0 + 3 * i for i in range(30)]
    future_stamps = stamps[:cut] + [str(int(stamps[cut - 1]) + 17 * (i + 1)) for i in range(30)]
    changed = write_csv(tmp_path / "changed.csv", future_stamps, future_values, limit=100)
    truncated = write_csv(tmp_path / "truncated.csv", stamps[:cut], values[:cut], limit=100)
    assert backtest(tmp_path, CONFIG_BOTH, original, changed, truncated)[0] == 0

    lines = {name: (tmp_path / "out" / name).read_bytes().splitlines(keepends=True)
             for name in ("original.csv", "changed.csv", "truncated.csv")}
    past = 1 + 2 * cut  # the header, then one row per predictor for each shared timestamp
    assert len(lines["truncated.csv"]) == past
    assert lines["changed.csv"][:past] == lines["original.csv"][:past] == lines["truncated.csv"]
    assert lines["changed.csv"][past:] != lines["original.csv"][past:past + 60]


def test_predictors_in_config_order(tmp_path):
    values = fill_values(flat_hours=0.5, ramp_hours=0.5)
    data = write_csv(tmp_path / "both.csv", unix_stamps(len(values)), values, limit=100)
    assert backtest(tmp_path, CONFIG_BOTH, data)[0] == 0
    rows = read_rows(tmp_path / "out" / "both.csv")
    assert [r["predictor"] for r in rows] == ["by_series", "by_constant"] * len(values)


# -- several files -------------------------------------------------------------------------

def test_each_file_gets_its_own_output_and_a_fresh_engine(tmp_path):
    rising = fill_values(flat_hours=0.5, ramp_hours=3)
    first = write_csv(tmp_path / "first.csv", unix_stamps(len(rising)), rising, limit=100)
    # The second file starts where the first ends: a shared engine would see one long series.
    flat = [50.0] * 100
    second = write_csv(tmp_path / "second.csv", unix_stamps(len(flat), start=T0 + len(rising) * STEP), flat, limit=100)
    assert backtest(tmp_path, CONFIG_LIMIT_SERIES, first, second, out="together")[0] == 0
    assert backtest(tmp_path, CONFIG_LIMIT_SERIES, second, out="alone")[0] == 0

    together = tmp_path / "together"
    assert sorted(p.name for p in together.iterdir()) == ["first.csv", "second.csv"]
    assert (together / "second.csv").read_bytes() == (tmp_path / "alone" / "second.csv").read_bytes()
    rows = read_rows(together / "second.csv")
    assert all(r["ttf_p50_seconds"] == "" for r in rows[:9])  # no history carried over
    assert len(read_rows(together / "first.csv")) == len(rising)


def test_output_dir_is_created(tmp_path):
    data = write_csv(tmp_path / "d.csv", unix_stamps(20), [1.0] * 20, limit=100)
    code, out = backtest(tmp_path, CONFIG_LIMIT_SERIES, data, out="a/b/c")
    assert code == 0 and (out / "d.csv").exists()


# -- errors: exit 2, naming the file and the problem ----------------------------------------

def run_failing(tmp_path, capsys, config_text, *inputs, out="out") -> str:
    code, _ = backtest(tmp_path, config_text, *inputs, out=out)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ")
    return err


def test_missing_file(tmp_path, capsys):
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "nowhere.csv")
    assert "nowhere.csv" in err and "no such file" in err


def test_empty_file(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "empty.csv")
    assert "empty.csv" in err and "empty" in err


def test_header_without_rows(tmp_path, capsys):
    (tmp_path / "header.csv").write_text("timestamp,used,limit\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "header.csv")
    assert "header.csv" in err and "no data rows" in err


def test_no_timestamp_column(tmp_path, capsys):
    (tmp_path / "notime.csv").write_text("time,used,limit\n1767225600,1,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "notime.csv")
    assert "notime.csv" in err and "no 'timestamp' column" in err and "3 columns; closest: time" in err


@pytest.mark.parametrize("header, missing", [("timestamp,memory,limit", "used"), ("timestamp,used,cap", "limit")])
def test_missing_series_column(tmp_path, capsys, header, missing):
    (tmp_path / "cols.csv").write_text(f"{header}\n1767225600,1,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "cols.csv")
    assert "cols.csv" in err and f"'{missing}'" in err
    # A narrow file with nothing close: its few columns are listed.
    assert "the file has 2 series columns: " + ", ".join(header.split(",")[1:]) in err


def test_a_wide_file_names_close_columns_not_all(tmp_path, capsys):
    """1,720 columns (a whole fleet's export): the message lists at most 10 names and the count."""
    hosts = [f"node-{i}_system.{m}" for i in range(430) for m in ("memory.used.pct", "cpu.pct", "disk.pct", "load")]
    columns = [name.replace("-", "_").replace(".", "_") for name in hosts]
    (tmp_path / "wide.csv").write_text("timestamp," + ",".join(columns) + "\n1767225600" + ",1" * len(columns) + "\n")
    config = CONFIG_LIMIT_CONSTANT.replace("series: used", "series: node_3_system_memory_used")
    err = run_failing(tmp_path, capsys, config, tmp_path / "wide.csv")
    assert "wide.csv" in err and "'node_3_system_memory_used'" in err and "1,720 series columns" in err
    listed = err.split("closest: ")[1].strip().split(", ")
    assert 1 <= len(listed) <= 10 and "node_3_system_memory_used_pct" in listed
    assert len(err) < 1000


def test_a_wide_file_without_close_columns_gives_the_count(tmp_path, capsys):
    columns = [f"c{i}" for i in range(50)]
    (tmp_path / "wide.csv").write_text("timestamp," + ",".join(columns) + "\n1767225600" + ",1" * 50 + "\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_CONSTANT.replace("series: used", "series: memory_used_bytes"),
                      tmp_path / "wide.csv")
    assert "50 series columns, none close to 'memory_used_bytes'" in err and "c49" not in err


def test_bad_timestamp(tmp_path, capsys):
    (tmp_path / "badtime.csv").write_text("timestamp,used,limit\n1767225600,1,100\nsoon,2,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "badtime.csv")
    assert "badtime.csv" in err and "line 3" in err and "'soon'" in err


@pytest.mark.parametrize("second, problem", [("1767225600", "repeats"), ("1767225540", "is earlier than")],
                         ids=["duplicate", "unsorted"])
def test_timestamps_out_of_order(tmp_path, capsys, second, problem):
    (tmp_path / "order.csv").write_text(f"timestamp,used,limit\n1767225600,1,100\n{second},2,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "order.csv")
    assert "order.csv" in err and "line 3" in err and problem in err


def test_same_instant_in_two_formats_is_a_duplicate(tmp_path, capsys):
    (tmp_path / "dup.csv").write_text("timestamp,used,limit\n2026-01-01T00:00:00Z,1,100\n1767225600,2,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "dup.csv")
    assert "dup.csv" in err and "line 3" in err and "repeats" in err


def test_non_numeric_cell(tmp_path, capsys):
    (tmp_path / "text.csv").write_text("timestamp,used,limit\n1767225600,1,100\n1767225660,lots,100\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, tmp_path / "text.csv")
    assert "text.csv" in err and "line 3" in err and "'used'" in err and "'lots'" in err


def test_a_bad_later_file_fails_before_any_work(tmp_path, capsys):
    good = write_csv(tmp_path / "good.csv", unix_stamps(20), [1.0] * 20, limit=100)
    (tmp_path / "bad.csv").write_text("timestamp,used\n1767225600,1\n")
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, good, tmp_path / "bad.csv")
    assert "bad.csv" in err and "'limit'" in err
    assert not (tmp_path / "out" / "good.csv").exists()


def test_refuses_to_overwrite_an_input(tmp_path, capsys):
    data = write_csv(tmp_path / "data.csv", unix_stamps(20), [1.0] * 20, limit=100)
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, data, out=".")
    assert "data.csv" in err and "overwrite" in err
    assert read_rows(data)[0]["used"] == "1.0"


def test_two_inputs_with_one_name(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_csv(tmp_path / "a" / "x.csv", unix_stamps(20), [1.0] * 20, limit=100)
    second = write_csv(tmp_path / "b" / "x.csv", unix_stamps(20), [1.0] * 20, limit=100)
    err = run_failing(tmp_path, capsys, CONFIG_LIMIT_SERIES, first, second)
    assert "x.csv" in err and "same file name" in err


# -- CSV or --prometheus: exit 2 naming what is missing or extra -------------------------------

@pytest.mark.parametrize("args, expected", [
    (["--prometheus", "http://127.0.0.1:9", "--start", "1767225600", "--end", "1767229200", "d.csv"],
     "give either CSV files or --prometheus, not both"),
    (["--prometheus", "http://127.0.0.1:9", "--start", "1767225600"], "--prometheus needs --end"),
    (["--prometheus", "http://127.0.0.1:9"], "--prometheus needs --start and --end"),
    ([], "nothing to replay: give CSV files (DATA.csv ...) or --prometheus URL"),
    (["--start", "1767225600", "d.csv"], "--start is for --prometheus only"),
    (["--prometheus", "http://127.0.0.1:9", "--start", "2026-01-01T01:00:00Z", "--end", "2026-01-01T00:00:00Z"],
     "--end 2026-01-01T00:00:00Z is not after --start 2026-01-01T01:00:00Z"),
    (["--prometheus", "http://127.0.0.1:9", "--start", "1767225600", "--end", "1767229200", "--late-rows", "skip"],
     "--late-rows applies to CSV files only"),
    (["--prometheus", "http://127.0.0.1:9", "--start", "1767225600", "--end", "1767229200", "--step", "0s"],
     "--step 0s: give a step above zero"),
], ids=["both", "no end", "no range", "nothing", "start with csv", "end before start", "late rows", "zero step"])
def test_csv_or_prometheus(tmp_path, capsys, args, expected):
    config = write_config(tmp_path, CONFIG_LIMIT_CONSTANT)
    code = main(["backtest", "-c", str(config), "--output-dir", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert not (tmp_path / "out").exists()  # nothing ran


def test_a_bad_start_time_is_named(tmp_path, capsys):
    config = write_config(tmp_path, CONFIG_LIMIT_CONSTANT)
    with pytest.raises(SystemExit) as exit_:
        main(["backtest", "-c", str(config), "--output-dir", str(tmp_path / "out"), "--prometheus",
              "http://127.0.0.1:9", "--start", "yesterday", "--end", "1767229200"])
    assert exit_.value.code == 2
    assert "argument --start: 'yesterday' is not a timestamp" in capsys.readouterr().err


def test_bad_config(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", unix_stamps(20), [1.0] * 20, limit=100)
    err = run_failing(tmp_path, capsys, "predictors: []\n", data)
    assert "predictors.yaml" in err


def test_late_rows_can_be_skipped_and_counted(tmp_path, capsys):
    stamps = unix_stamps(200)
    stamps[150], stamps[151] = stamps[140], stamps[149]  # a jump back, then a repeat of the newest
    data = write_csv(tmp_path / "late.csv", stamps, fill_values()[:200], limit=100)
    config = write_config(tmp_path, CONFIG_LIMIT_SERIES)
    code = main(["backtest", "--late-rows", "skip", "-c", str(config), "--output-dir", str(tmp_path / "out"),
                 str(data)])
    assert code == 0
    assert "2 row(s) out of time order skipped" in capsys.readouterr().out
    rows = read_rows(tmp_path / "out" / "late.csv")
    assert len(rows) == 200  # one output row per input row, in input order
    assert [r["timestamp"] for r in rows] == stamps
    assert rows[150]["severity"] == rows[150]["ttf_p50_seconds"] == "" and rows[150]["value"] != ""
    assert rows[152]["ttf_p50_seconds"] != ""  # later rows are predicted again


def test_anomaly_kind_fills_the_anomaly_score_column(tmp_path):
    import random
    rng = random.Random(3)
    values = [10 + rng.gauss(0, 0.5) for _ in range(600)] + [30.0] * 5 + [10 + rng.gauss(0, 0.5) for _ in range(50)]
    data = write_csv(tmp_path / "spike.csv", unix_stamps(len(values)), values)
    code, out = backtest(tmp_path, "predictors:\n  - name: used\n    kind: anomaly\n    series: used\n", data)
    assert code == 0
    rows = read_rows(out / "spike.csv")
    # No score while the detector warms up (its first 150 points): empty, not 0.
    assert [r["anomaly_score"] for r in rows[:150]] == [""] * 150
    scores = [0.0] * 150 + [float(r["anomaly_score"]) for r in rows[150:]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert rows[0]["ttf_p50_seconds"] == rows[0]["probability_1h"] == ""  # no limit: does not apply
    assert max(scores[600:605]) > max(scores[200:600])  # the jump scores above the quiet part
