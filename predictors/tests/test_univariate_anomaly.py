"""Tests of the streaming univariate anomaly detector (foresight.predictors.anomaly)."""
import math

import numpy as np
import pytest

from foresight.predictors.anomaly import DetectorSettings, StreamingDetector

STEP = 300.0  # five-minute samples
DAY_ROWS = int(86400 / STEP)


def seasonal_series(rows: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 1_400_000_000.0 + STEP * np.arange(rows)
    daily = 10.0 * np.sin(2 * np.pi * np.arange(rows) / DAY_ROWS)
    return t, 50.0 + daily + rng.normal(0.0, 1.0, rows)


def run(t, v, settings=None) -> list:
    detector = StreamingDetector(settings)
    return [detector.update(ts, x) for ts, x in zip(t, v)]


def scored(scores: list) -> list[float]:
    """The scores after the warm-up (None before it)."""
    warmup = DetectorSettings().warmup_rows
    assert all(s is None for s in scores[:warmup]) and None not in scores[warmup:]
    return scores[warmup:]


def test_scores_are_causal():
    t, v = seasonal_series(1500)
    before = run(t, v)
    changed = v.copy()
    changed[1000:] += np.random.default_rng(1).normal(0.0, 30.0, 500)
    after = run(t, changed)
    assert before[:1000] == after[:1000]  # exact equality: nothing leaks from the future
    assert before[1000:] != after[1000:]


def test_scores_stay_in_unit_interval():
    t, v = seasonal_series(1500)
    v[900] += 1e9
    v[1200:] = -1e6
    scores = scored(run(t, v))
    assert all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("kind", ["spike", "level_shift"])
def test_clear_anomaly_scores_above_the_quiet_part(kind):
    t, v = seasonal_series(4 * DAY_ROWS)
    start = 3 * DAY_ROWS
    if kind == "spike":
        v[start] += 25.0
    else:
        v[start:] += 20.0
    scores = np.array(run(t, v), dtype=float)
    quiet = scores[2 * DAY_ROWS:start]  # after warm-up, before the anomaly
    assert scores[start:start + 5].max() > quiet.max()
    assert scores[start:start + 5].max() >= DetectorSettings().alarm_level


def test_non_finite_values_are_counted_and_skipped():
    t, v = seasonal_series(400)
    detector = StreamingDetector()
    clean = StreamingDetector()
    for i, (ts, x) in enumerate(zip(t, v)):
        expected = clean.update(ts, x)
        if i in (250, 300):
            previous = detector.last_score
            assert detector.update(ts, math.nan) == previous
            assert detector.update(ts, math.inf) == previous
            assert detector.update(ts, "oops") == previous
        assert detector.update(ts, x) == expected  # skipped values leave no trace
    assert detector.bad_values == 6
    assert clean.bad_values == 0


def test_gaps_and_irregular_timestamps_do_not_break_it():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.choice([1.0, 60.0, 3600.0, 86400.0 * 3], size=600))
    v = rng.normal(0.0, 1.0, 600)
    detector = StreamingDetector()
    scores = [detector.update(ts, x) for ts, x in zip(t, v)]
    scores.append(detector.update(math.nan, 1.0))  # an unusable timestamp is tolerated
    assert all(0.0 <= s <= 1.0 for s in scored(scores))


def test_constant_series_scores_zero_until_it_changes():
    t = 1_400_000_000.0 + STEP * np.arange(600)
    v = np.full(600, 5.0)
    v[500] = 9.0
    scores = [0.0 if s is None else s for s in run(t, v)]
    assert max(scores[:500]) == 0.0
    # A lone change is damped (lone_row_power), but a break in a flat series is extreme
    # (score 1), which the damping keeps.
    assert scores[500] == 1.0


def test_settings_overrides_and_defaults():
    settings = DetectorSettings.from_mapping({"quiet_rows": 50, "score_decades": 8}, "x.yaml")
    assert settings.quiet_rows == 50 and settings.score_decades == 8.0
    assert DetectorSettings.from_mapping({}, "x.yaml") == DetectorSettings()


@pytest.mark.parametrize("data, message", [
    ({"quiet_rowz": 5}, "detector.quiet_rowz: unknown field"),
    ({"quiet_rows": 2.5}, "detector.quiet_rows: 2.5 is not a whole number"),
    ({"quiet_rows": True}, "detector.quiet_rows: True is not a whole number"),
    ({"alarm_level": "high"}, "detector.alarm_level: 'high' is not a number"),
    ({"alarm_level": float("nan")}, "detector.alarm_level: nan is not a finite number"),
    ({"alarm_level": 1.5}, "detector.alarm_level: 1.5 is outside [0.0, 1.0]"),
    ({"history_rows": 100_000}, "detector.history_rows: 100000 is outside"),
    ({"subsequence_rows": 20, "history_rows": 32}, "detector.subsequence_rows: 20 must be at most half"),
    ([1, 2], "detector: expected a mapping, got list"),
])
def test_bad_settings_name_the_file_and_field(data, message):
    with pytest.raises(ValueError) as err:
        DetectorSettings.from_mapping(data, "predictors.yaml: anomaly.detector")
    assert "predictors.yaml: anomaly.detector" in str(err.value)
    assert message in str(err.value)
