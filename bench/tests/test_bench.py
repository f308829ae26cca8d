import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from exhaustion import baselines, score  # noqa: E402


def test_predict_linear_matches_hand_computation():
    ts = np.array([0.0, 60.0, 120.0, 180.0, 240.0])
    v = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    grid = np.array([240.0])
    # Window (240-180, 240] holds t=120,180,240 -> x relative to 240: -120,-60,0; y 2,5,4.
    x, y = np.array([-120.0, -60.0, 0.0]), np.array([2.0, 5.0, 4.0])
    slope = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    expected = y.mean() + slope * (600 - x.mean())
    got = baselines.predict_linear(ts, v, grid, 180, 600)[0]
    assert abs(got - expected) < 1e-9
    assert np.isnan(baselines.predict_linear(ts, v, np.array([0.0]), 180, 600)[0])  # one sample: no value


def test_for_clause_needs_the_condition_to_hold():
    grid = np.arange(10) * 60.0
    cond = np.array([0, 1, 1, 1, 1, 1, 1, 0, 1, 1], dtype=bool)
    fired = baselines.hold_for(grid, cond, 300)
    assert fired.tolist() == [False] * 6 + [True, False, False, False]


def test_classic_rule_fires_on_a_ramp_not_on_a_flat_series():
    ts = np.arange(0, 6 * 3600, 60.0)
    limit = np.full(ts.shape, 100.0)
    grid = baselines.eval_grid(ts)
    assert not baselines.classic(ts, np.full(ts.shape, 50.0), limit, grid).any()
    assert baselines.classic(ts, 20 + ts / 3600 * 15, limit, grid).any()


def test_scoring_recall_lead_and_false_episodes():
    h = 3600.0
    times = np.arange(0, 48 * h, 60.0)
    failure = 30 * h
    alerting = ((times >= 24 * h) & (times < failure)) | ((times >= 5 * h) & (times < 6 * h))
    # A 10-minute break inside the warning episode is merged (< 15 min).
    alerting &= ~((times >= 26 * h) & (times < 26 * h + 600))
    eps = score.episodes(times, alerting)
    assert eps == [(5 * h, 6 * h - 60), (24 * h, failure - 60)]
    assert score.lead_time(eps, failure) == 6 * h
    assert score.false_episodes(eps, [failure]) == 1  # the 05:00 episode: failure is 25 h later
    late = score.episodes(times, (times >= failure - 600) & (times < failure))
    assert score.lead_time(late, failure) is None  # began within 30 min of the failure
    m = score.MethodScore("x")
    m.add_series("k", times, alerting, [failure], [10 * h], 2.0)
    s = m.summary()
    assert s["recall"] == 1.0 and s["median_lead_h"] == 6.0 and s["false_per_series_day"] == 0.5


def test_ttf_error_counts_inf_as_one():
    times = np.array([0.0, 3600.0])
    p = np.array([7200.0, np.inf])
    errors, covered = score.ttf_rows(times, p * 0.5, p, p * 2, [7200.0])
    assert errors == [0.0, 1.0]
    assert covered == [True, False]
