"""Sliding-window features: causal, named for people, and tolerant of bad samples."""
import math

import numpy as np
import pytest

from foresight.predictors.anomaly.features import WindowFeatures, attributions_by_series


def feature_matrix(timestamps, columns: dict, **settings) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Run the streaming builder over whole arrays: (times, matrix, feature names).

    Rows come only for the samples that produced a vector.
    """
    builder = WindowFeatures(list(columns), **settings)
    times, rows = [], []
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    for i, t in enumerate(np.asarray(timestamps, dtype=float)):
        vector = builder.update(t, {name: a[i] for name, a in arrays.items()})
        if vector is not None:
            times.append(t)
            rows.append(vector)
    matrix = np.vstack(rows) if rows else np.empty((0, len(builder.names)))
    return np.asarray(times), matrix, builder.names

T0 = 1_700_006_400.0  # a UTC midnight
NAMES = ["request rate", "db pool usage"]


def _columns(n, rng):
    t = T0 + 60.0 * np.arange(n)
    return t, {"request rate": 100 + 10 * np.sin(t / 3000) + rng.normal(0, 1, n),
               "db pool usage": 0.4 + rng.normal(0, 0.02, n)}


def test_feature_names_say_what_they_measure():
    builder = WindowFeatures(NAMES, window=900)
    assert "request rate: z-score" in builder.names
    assert "db pool usage: delta 15m" in builder.names
    assert "db pool usage: seasonal residual" in builder.names
    assert builder.sources[builder.names.index("db pool usage: delta 15m")] == "db pool usage"
    assert len(builder.names) == len(builder.sources) == 12


def test_a_change_in_the_future_leaves_past_features_identical():
    rng = np.random.default_rng(0)
    t, columns = _columns(600, rng)
    times, before, _ = feature_matrix(t, columns)
    changed = {k: v.copy() for k, v in columns.items()}
    changed["request rate"][400:] *= 3
    changed["db pool usage"][400:] = np.nan
    times_after, after, _ = feature_matrix(t, changed)
    past = times < t[400]
    assert past.sum() > 300
    np.testing.assert_array_equal(before[past], after[times_after < t[400]])
    assert not np.allclose(before[~past][:5], after[times_after >= t[400]][:5])


def test_latest_value_features_follow_their_definitions():
    builder = WindowFeatures(["x"], window=300, season=86400)
    vector = None
    for i, value in enumerate([10, 10, 11, 9, 10, 10, 30]):
        vector = builder.update(T0 + 60 * i, {"x": value})
    features = dict(zip(builder.names, vector))
    # window (t - 300, t] holds the last 5 samples: 9, 10, 10, 30 preceded by 11
    assert features["x: level"] == 30
    assert features["x: delta 5m"] == pytest.approx(30 - 11)
    assert features["x: mean 5m"] == pytest.approx(np.mean([11, 9, 10, 10, 30]))
    assert features["x: z-score"] > 10  # far above a window that sat near 10
    # fewer than two past days: the residual is taken against the rolling mean
    assert features["x: seasonal residual"] == pytest.approx(30 - np.mean([11, 9, 10, 10, 30]))


def test_seasonal_residual_uses_the_same_time_of_day_once_two_days_exist():
    builder = WindowFeatures(["x"], window=600, step=60, season=3600)  # a one-hour "day" keeps this fast
    last = None
    for i in range(3 * 60 + 1):
        t = T0 + 60 * i
        value = 100.0 + (50.0 if (i % 60) == 30 else 0.0)  # a spike every day at minute 30
        last = builder.update(t, {"x": value}), i
        if i == 2 * 60 + 30:
            residual = dict(zip(builder.names, last[0]))["x: seasonal residual"]
            assert residual == pytest.approx(0.0)  # the spike is normal for this time of day
        if i == 30:
            assert dict(zip(builder.names, last[0]))["x: seasonal residual"] > 40  # no past days yet


def test_missing_values_are_carried_forward_for_a_while_then_counted():
    builder = WindowFeatures(["a", "b"], window=120, carry_forward=120)
    for i in range(5):
        assert (builder.update(T0 + 60 * i, {"a": 1.0, "b": 2.0}) is None) == (i < 2)
    assert builder.update(T0 + 300, {"a": 1.0, "b": math.nan}) is not None
    assert builder.update(T0 + 360, {"a": 1.0}) is not None
    assert builder.update(T0 + 420, {"a": 1.0, "b": "n/a"}) is None  # 180 s since b was seen
    assert builder.counts["carried forward"] == 2
    assert builder.counts["missing value"] == 1


def test_bad_samples_are_counted_not_raised():
    builder = WindowFeatures(["a"], window=60)
    builder.update(T0, {"a": 1.0})
    assert builder.update(T0, {"a": 2.0}) is None
    assert builder.update(T0 - 60, {"a": 2.0}) is None
    assert builder.update(math.nan, {"a": 2.0}) is None
    assert builder.update(T0 + 60, [1.0]) is None
    assert builder.update(T0 + 120, {"a": 1.0, "unknown": 3.0}) is not None
    assert builder.counts["out-of-order sample"] == 2
    assert builder.counts["bad timestamp"] == 1
    assert builder.counts["bad sample"] == 1
    assert builder.counts["unknown series"] == 1


def test_bad_construction_names_the_argument():
    with pytest.raises(ValueError, match="series_names"):
        WindowFeatures([])
    with pytest.raises(ValueError, match="duplicate"):
        WindowFeatures(["a", "a"])
    with pytest.raises(ValueError, match="window"):
        WindowFeatures(["a"], window=0)


def test_feature_shares_sum_per_series():
    builder = WindowFeatures(["db: pool usage", "request rate"], window=900)
    shares = {name: 1 / len(builder.names) for name in builder.names}
    by_series = attributions_by_series(shares)
    assert set(by_series) == {"db: pool usage", "request rate"}
    assert by_series["db: pool usage"] == pytest.approx(0.5)
