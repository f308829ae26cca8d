"""The exhaustion bench's wiring: both generators' suites, scoring on 15 s and 30 s data with
gaps (Prometheus semantics for the baselines, the publisher's for Foresight), the tuning
statement, and the list of cases that still go wrong. Small and fast: no full runs."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))
import run as bench_run  # noqa: E402
from exhaustion import baselines, bench, foresight_runner, report, score, suite  # noqa: E402

H = 3600.0


def lstsq_predict(ts, values, t, window, horizon):
    """predict_linear by the book: samples in (t - window, t], x = timestamp - t."""
    sel = (ts > t - window) & (ts <= t)
    x, y = ts[sel] - t, values[sel]
    slope, intercept = np.polyfit(x, y, 1)
    return intercept + slope * horizon


@pytest.mark.parametrize("step", [15, 30])
def test_predict_linear_on_a_week_of_fine_data_with_gaps_matches_least_squares(step):
    rng = np.random.default_rng(step)
    ts = np.arange(1767571200, 1767571200 + 7 * 86400, step, dtype=np.float64)
    keep = rng.random(ts.size) > 0.03
    keep &= ~((ts >= ts[0] + 3 * 86400) & (ts < ts[0] + 3 * 86400 + 40 * 60))  # a 40-minute gap
    ts = ts[keep]
    values = 1.2e9 + 2e3 * (ts - ts[0]) + np.cumsum(rng.normal(0, 2e5, ts.size))
    grid = baselines.eval_grid(ts)
    assert np.all(np.diff(grid) == 60)
    after_gap = ts[0] + 3 * 86400 + 41 * 60
    picks = np.concatenate([rng.choice(grid[grid > ts[0] + 7 * H], 20), grid[np.searchsorted(grid, after_gap)][None]])
    got = baselines.predict_linear(ts, values, picks, 6 * H, 24 * H)
    want = np.array([lstsq_predict(ts, values, t, 6 * H, 24 * H) for t in picks])
    np.testing.assert_allclose(got, want, rtol=1e-7)


def test_classic_rule_goes_stale_in_a_gap_and_its_for_starts_again_after():
    step = 15.0
    ts = np.arange(0, 10 * H, step)
    ts = ts[(ts < 5 * H) | (ts >= 5 * H + 20 * 60)]  # 20 minutes without samples
    used, limit = 10 + ts / H * 20, np.full(ts.size, 100.0)  # heading past 100 within 4 h from t = 1 h
    grid = baselines.eval_grid(ts)
    firing = baselines.classic(ts, used, limit, grid)
    in_gap = (grid >= 5 * H + 5 * 60) & (grid < 5 * H + 20 * 60)
    assert firing[(grid > 3 * H) & (grid < 5 * H)].all() and not firing[in_gap].any()
    resumed = grid[(grid >= 5 * H + 20 * 60) & firing][0]
    assert resumed == 5 * H + 25 * 60  # `for: 5m` counted in time from the first evaluation that holds again


def test_foresight_alerts_on_the_grid_with_the_rules_for_and_the_publishers_staleness():
    holds = foresight_runner.exhaustion_rule_holds()
    step = 15.0
    ts = np.arange(0, 12 * H, step)
    sev = np.full(ts.size, "", dtype=object)
    sev[(ts >= 1 * H) & (ts < 1 * H + holds["warning"] - 60)] = "warning"  # shorter than its `for:`
    sev[(ts >= 3 * H) & (ts < 5 * H)] = "warning"
    keep = ~((ts >= 4 * H) & (ts < 4 * H + 30 * 60))  # 30 min without rows: the level is still published
    keep &= ~((ts >= 7 * H) & (ts < 9 * H))  # 2 h without rows: stale after 1 h
    sev[(ts >= 6 * H) & (ts < 7 * H)] = "warning"
    ts, sev = ts[keep], sev[keep].astype(str)
    grid = baselines.eval_grid(ts)
    firing = foresight_runner.deployed_alerting(ts, sev, grid)
    assert not firing[grid < 2 * H].any()
    on = grid[firing & (grid < 5.5 * H)]
    assert on[0] == 3 * H + holds["warning"] and np.all(np.diff(on) == 60)  # through the 30-minute gap
    at = lambda t: bool(firing[np.searchsorted(grid, t)])  # noqa: E731
    # Into the 2 h gap the last level is published for an hour, then dropped.
    assert at(7.5 * H) and not at(7 * H + foresight_runner.STALE_AFTER + 60)


def test_ttf_rows_weigh_a_minute_the_same_at_15_and_60_seconds():
    f = 10 * H
    for step in (15.0, 60.0):
        t = np.arange(0, f, step)
        p50 = (f - t) * 1.2
        errors, covered = score.ttf_rows(t, p50 * 0.5, p50, p50 * 2, [f])
        assert len(errors) == 6 * 60 - 10 + 1 and np.allclose(errors, 0.2) and all(covered)


def test_scores_list_what_each_method_got_wrong():
    times = np.arange(0, 48 * H, 60.0)
    failure = 30 * H
    alerting = ((times >= 29.8 * H) & (times < failure)) | ((times >= 5 * H) & (times < 6 * H))
    m = score.MethodScore("x")
    m.add_series("g2-leak", times, alerting, [failure], [10 * H], 2.0, case="g2-leak-s2", seed=2)
    s = m.summary()
    assert s["recall"] == 0.0 and s["missed"][0]["what"].startswith("alert began 12 min before")
    assert [(e["case"], e["start"], e["next_failure"]) for e in s["false_episodes_list"]] == [
        ("g2-leak-s2", 5 * H, failure)]
    text = report.cases_section(s, {"g2-leak-s2": lambda t: (0.5, 7200.0)}, 0.0)
    assert "| g2-leak | 2 | Fri 06:00 (day 1.25)" in text and "| g2-leak | 2 | Thu 05:00 (day 0.21)" in text


def test_only_loadgen_seeds_1_to_3_are_the_tuning_set():
    assert report.tuning_status("loadgen", [1, 2, 3])[0] == "tuning set"
    assert report.tuning_status("loadgen", [4, 5, 6])[0] == "held out"
    assert report.tuning_status("second", [1, 2, 3])[0] == "held out"
    assert report.tuning_status("loadgen", [3, 4])[0] == "partly tuning set"
    assert [bench.result_name(*a) for a in [("loadgen", 1, 3, False, None), ("loadgen", 4, 3, False, None),
                                            ("second", 1, 3, False, None), ("loadgen", 1, 1, True, None)]] == [
        "exhaustion", "exhaustion-heldout-seeds-4-6", "exhaustion-generator2", "exhaustion-quick"]


def test_the_second_generator_gives_a_suite_with_a_manifest(tmp_path):
    cases = suite.build_suite(tmp_path, seeds=1, days=7, kinds=["seasonal", "startup-ramp"], generator="second")
    assert [c.name for c in cases] == ["g2-seasonal-s1", "g2-startup-ramp-s1"]
    manifest = json.loads((cases[0].csv.parent / "manifest.json").read_text())
    assert manifest["generator"] == "second" and len(manifest["cases"]) == 2
    for c in cases:
        ts, used, limit = suite.load_series(c)
        assert c.csv.read_text().startswith("timestamp,used,limit\n") and c.rows == ts.size
        assert c.step in (15, 30, 60) and not c.failures and np.all(used < limit)
    assert cases[1].start > suite.START + 86400  # a target that appears mid-week
    again = suite.build_suite(tmp_path, seeds=1, days=7, kinds=["seasonal", "startup-ramp"], generator="second")
    assert [c.csv for c in again] == [c.csv for c in cases]
    with pytest.raises(ValueError, match="unknown second kinds"):
        suite.build_suite(tmp_path, seeds=1, kinds=["daily-weekly-cycle"], generator="second")


def test_suites_built_at_once_by_two_runs_are_whole_and_a_half_built_one_is_replaced(tmp_path):
    """Benches started together share a work folder: each builds the suite aside and renames
    it into place, so neither reads the other's half-written CSVs. A folder an interrupted
    run left without its manifest is built again."""
    import multiprocessing

    args = (tmp_path, 1, 2, ["seasonal", "nightly-batch"], 1, "second")
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        both = pool.starmap(suite.build_suite, [args, args])
    assert [c.csv for c in both[0]] == [c.csv for c in both[1]]
    folder = both[0][0].csv.parent
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]  # no leftovers beside it
    whole = {c.csv.name: c.csv.read_text() for c in both[0]}
    assert all(text.startswith("timestamp,used,limit\n") and text.count("\n") == c.rows + 1
               for c, text in zip(both[0], whole.values()))
    (folder / "manifest.json").unlink()
    both[0][0].csv.write_text("timestamp,used,limit\n1,2")  # as an interrupted run leaves it
    again = suite.build_suite(*args)
    assert {c.csv.name: c.csv.read_text() for c in again} == whole


def test_loadgen_kinds_keep_their_own_step(tmp_path):
    cases = suite.build_suite(tmp_path, seeds=1, days=1, kinds=["gc-sawtooth-leak", "pool-traffic-growth"])
    assert [c.step for c in cases] == [15, 30]


def test_a_broken_series_is_refused_by_name():
    with pytest.raises(ValueError, match=r"g2-x-s1: timestamps not strictly increasing at row 2"):
        suite.check_series("g2-x-s1", [0, 60, 60], [1, 2, 3], [9, 9, 9], [], [], 100)
    with pytest.raises(ValueError, match="used has a value that is not finite at row 1"):
        suite.check_series("k", [0, 60], [1, np.nan], [9, 9], [], [], 100)
    with pytest.raises(ValueError, match="failure 500"):
        suite.check_series("k", [0, 60], [1, 2], [9, 9], [500], [0], 100)


def test_run_py_passes_generator_kinds_and_name(monkeypatch):
    seen = {}
    monkeypatch.setattr(bench, "run", lambda *a: seen.setdefault("args", a))
    assert bench_run.main(["exhaustion", "--generator", "second", "--first-seed", "4",
                           "--kinds", "seasonal,deploy-steps", "--name", "x"]) == 0
    work, out, seeds, days, quick, jobs, first, generator, kinds, name, source = seen["args"]
    assert (first, generator, kinds, name, quick, source) == (4, "second", ["seasonal", "deploy-steps"], "x", False,
                                                              None)


def test_another_copy_of_foresight_can_be_scored(tmp_path):
    """--foresight-src: the backtests import the copy under DIR, and the result names it."""
    here = foresight_runner.model_source()
    assert (Path(here["folder"]) / "__init__.py").exists() and len(here["sha256"]) == 12
    copy = tmp_path / "src" / "foresight"
    copy.mkdir(parents=True)
    (copy / "__init__.py").write_text("# another Foresight\n")
    other = foresight_runner.model_source(tmp_path / "src")
    assert other["folder"] == str(copy.resolve()) and other["sha256"] != here["sha256"]
