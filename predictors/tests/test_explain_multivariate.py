"""The multivariate detector: flags a broken relationship between series and names the culprit."""
import math

import numpy as np
import pytest

from foresight.predictors.anomaly.features import attributions_by_series
from foresight.predictors.anomaly.multivariate import MultivariateDetector, MultivariateSettings

NAMES = ["request rate", "latency", "error rate", "pool usage", "memory"]
T0 = 1_700_006_400.0
CYCLE = 7200.0  # a two-hour "day" so that the seasonal features matter within a short test


def _group(rng, t, latency_extra=0.0):
    load = 100 + 30 * math.sin(2 * math.pi * (t % CYCLE) / CYCLE) + rng.normal(0, 3)
    return {"request rate": load,
            "latency": 0.1 + 0.001 * load + latency_extra + rng.normal(0, 0.003),
            "error rate": 0.01 + rng.normal(0, 0.002),
            "pool usage": 0.3 + 0.002 * load + rng.normal(0, 0.01),
            "memory": 500 + rng.normal(0, 5)}


def _settings(**overrides):
    values = dict(history=8 * 3600, min_history=4 * 3600, refit_every=3600, trees=50,
                  explain_above=0.5, season=CYCLE)
    values.update(overrides)
    return MultivariateSettings(**values)


@pytest.fixture(scope="module")
def run():
    """8 h of normal data, then latency +0.08 for 10 min while the request rate stays normal."""
    rng = np.random.default_rng(7)
    detector = MultivariateDetector(NAMES, _settings())
    normal, anomalous, first = [], [], None
    for i in range(8 * 60 + 10):
        t = T0 + 60 * i
        injected = i >= 8 * 60
        result = detector.update(t, _group(rng, t, 0.08 if injected else 0.0))
        if result is not None:
            first = first if first is not None else t
            (anomalous if injected else normal).append(result)
    return detector, normal, anomalous, first


def test_no_scores_until_min_history(run):
    detector, normal, _, first = run
    assert first - T0 >= 4 * 3600
    assert detector.fitted


def test_injected_anomaly_scores_above_normal_points(run):
    _, normal, anomalous, _ = run
    # The first two hours after the first fit mix residuals taken against the rolling mean
    # with residuals against past cycles; judge the normal points after that.
    settled = np.array([r.score for r in normal if r.timestamp >= T0 + 6 * 3600])
    anomalous_scores = np.array([r.score for r in anomalous])
    assert ((0 <= settled) & (settled <= 1)).all()
    assert np.median(settled) < 0.8  # calibrated: a typical normal point is not "strange"
    assert anomalous_scores.min() > np.percentile(settled, 99)
    # On the univariate detector's log scale: no normal point reaches the policy's default
    # threshold (0.9). A linear 1 - p would put one in ten there.
    assert max(r.score for r in normal) < 0.9 and anomalous_scores.max() >= 0.9
    # The forest alone is weaker (see the module docstring) but still ranks it above typical points.
    forest = np.array([r.forest_score for r in anomalous])
    assert np.median(forest) > np.median([r.forest_score for r in normal])


def test_scores_keep_their_order_beyond_the_strangest_calibration_point():
    from foresight.predictors.anomaly.multivariate import _tail_probability
    calibration = np.sort(np.random.default_rng(0).exponential(size=200))
    p = [_tail_probability(calibration, v) for v in (0.0, 1.0, calibration[-1], calibration[-1] + 1, 50.0)]
    assert p[0] == pytest.approx(1.0, abs=0.01)
    assert p == sorted(p, reverse=True) and p[-1] < p[-2] < 1 / 201


def test_attributions_point_at_the_series_that_broke(run):
    detector, _, anomalous, _ = run
    explained = [r for r in anomalous if r.attributions]
    assert len(explained) >= 5
    for result in explained:
        assert sum(result.attributions.values()) == pytest.approx(1.0)
        assert sum(result.series_attributions.values()) == pytest.approx(1.0)
        assert set(result.attributions) == set(detector.feature_names)
        assert attributions_by_series(result.attributions) == pytest.approx(result.series_attributions)
    top = [max(r.series_attributions, key=r.series_attributions.get) for r in explained]
    assert top.count("latency") >= 0.8 * len(top)


def test_explain_on_request_and_timings_are_recorded(run):
    detector, _, _, _ = run
    result = detector.explain_latest()
    assert result is not None and result.attributions
    timings = detector.timing_summary()
    assert timings["fit"]["count"] >= 2  # refitted as event time advanced
    assert timings["score"]["count"] > 0 and timings["shap"]["count"] > 0
    assert timings["shap"]["mean_s"] > 0


def test_absolute_attributions_also_sum_to_one():
    rng = np.random.default_rng(1)
    detector = MultivariateDetector(NAMES, _settings(history=3 * 3600, min_history=2 * 3600, trees=20,
                                                     attribution="absolute", explain_above=1.0))
    for i in range(2 * 60 + 30):
        detector.update(T0 + 60 * i, _group(rng, T0 + 60 * i))
    shares = detector.explain_latest().attributions
    assert sum(shares.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in shares.values())


def test_bad_input_is_counted_not_raised():
    rng = np.random.default_rng(2)
    detector = MultivariateDetector(NAMES, _settings(history=2 * 3600, min_history=3600, trees=10))
    for i in range(90):
        values = _group(rng, T0 + 60 * i)
        if i % 10 == 3:
            values["latency"] = math.inf
        if i % 17 == 5:
            del values["memory"]
        detector.update(T0 + 60 * i, values)
    detector.update(T0, _group(rng, T0))  # out of order
    detector.update(math.nan, {})
    assert detector.counts["carried forward"] >= 7
    assert detector.counts["out-of-order sample"] == 1
    assert detector.counts["bad timestamp"] == 1
    assert detector.fitted


def test_settings_from_config_mapping():
    settings = MultivariateSettings.from_mapping({"window": "10m", "history": "2d", "refit_every": "30m",
                                                  "min_history": "6h", "trees": 50, "explain_above": 0.9})
    assert (settings.window, settings.history, settings.refit_every) == (600, 2 * 86400, 1800)
    assert settings.trees == 50 and settings.explain_above == 0.9


@pytest.mark.parametrize("data, field", [
    ({"trees": 0}, "trees"),
    ({"trees": "many"}, "trees"),
    ({"window": "soon"}, "window"),
    ({"explain_above": 1.5}, "explain_above"),
    ({"min_history": "5d"}, "min_history"),
    ({"attribution": "signed"}, "attribution"),
    ({"treez": 5}, "treez"),
])
def test_settings_errors_name_the_field(data, field):
    with pytest.raises(ValueError, match=rf"predictors\[0\]\.multivariate\.{field}:"):
        MultivariateSettings.from_mapping(data, "predictors[0].multivariate")


@pytest.mark.parametrize("spread", [0.0, 900.0])
def test_fits_of_groups_started_together_are_spread_out(spread):
    fit_times = {}
    for group in ("checkout", "payments"):
        rng = np.random.default_rng(3)
        detector = MultivariateDetector(NAMES, _settings(history=2 * 3600, min_history=3600, refit_every=1800,
                                                         trees=5, first_fit_spread=spread, min_vectors=32),
                                        group=group)
        times = []
        for i in range(4 * 60):
            detector.update(T0 + 60 * i, _group(rng, T0 + 60 * i))
            if not times or detector.fitted_at != times[-1]:
                times.append(detector.fitted_at)
        fit_times[group] = [t for t in times if t is not None]
    first, second = fit_times["checkout"], fit_times["payments"]
    earliest = T0 + 900 + 3600  # features start after one window; then min_history
    if spread == 0:
        assert first[0] == second[0] == earliest  # as soon as min_history exists
    else:
        assert first[0] != second[0]
        assert all(earliest <= t[0] <= earliest + spread for t in (first, second))
    assert first[1] != second[1]  # the first refit is staggered by group
    for times in (first, second):
        assert np.diff(times[1:]).tolist() == [1800.0] * (len(times) - 2)
