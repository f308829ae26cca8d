"""The Isolation Forest as arrays gives the scores and SHAP values scikit-learn and shap give."""
import numpy as np
import pytest
import shap
from sklearn.ensemble import IsolationForest

from foresight.predictors.anomaly.forest_arrays import FlatForest, average_path_length
from foresight.predictors.anomaly.multivariate import MultivariateDetector, MultivariateSettings


def _data(seed: int, rows: int = 1500, columns: int = 9):
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.01, 100, columns)
    train = rng.normal(size=(rows, columns)) * scales
    probe = np.vstack([train[:40], rng.normal(size=(40, columns)) * scales * 5, train[:3] * (1 + 1e-7)])
    probe[5, 2] = np.nan  # a missing value goes the way scikit-learn sends it
    return train, probe


@pytest.mark.parametrize("options", [dict(random_state=0), dict(random_state=3, max_features=0.5),
                                     dict(random_state=1, max_samples=64, n_estimators=30)])
def test_scores_and_shap_values_are_exactly_the_libraries(options):
    train, probe = _data(options["random_state"])
    model = IsolationForest(**options).fit(train)
    forest = FlatForest(model)
    expected = -model.score_samples(probe)
    assert np.array_equal(np.array([forest.score(row) for row in probe]), expected)
    reference, fast = shap.TreeExplainer(model), forest.explainer()
    assert np.array_equal(fast.shap_values(probe), reference.shap_values(probe))
    assert np.allclose(fast.expected_value, reference.expected_value, rtol=1e-12)


def test_average_path_length_matches_the_formula():
    n = np.array([0, 1, 2, 3, 10, 256])
    got = average_path_length(n)
    assert got[:3].tolist() == [0.0, 0.0, 1.0]
    assert got[4] == pytest.approx(2 * (np.log(9) + np.euler_gamma) - 2 * 9 / 10)
    assert np.all(np.diff(got) >= 0)


def test_detector_scores_and_attributions_unchanged_by_the_arrays():
    """The detector's own score and attributions equal those of the forest it fitted, asked
    through scikit-learn and shap directly."""
    rng = np.random.default_rng(4)
    names = ["rate", "latency", "errors"]
    detector = MultivariateDetector(names, MultivariateSettings(history=6 * 3600, min_history=2 * 3600,
                                                                refit_every=3600, trees=40, first_fit_spread=0))
    t0 = 1_700_000_000.0
    for i in range(5 * 60):
        detector.update(t0 + 60 * i, {n: float(v) for n, v in zip(names, rng.normal(size=3))}, score=False)
    vector = detector.last_vector.copy()
    vector[0] += 50  # strange in one feature
    result = detector.score(vector, t0 + 5 * 3600)
    assert result.raw_score == -detector._model.score_samples(vector.reshape(1, -1))[0]
    phi = np.asarray(shap.TreeExplainer(detector._model).shap_values(vector.reshape(1, -1))).reshape(-1)
    weights = np.clip(-phi, 0, None)
    expected = dict(zip(detector.feature_names, weights / weights.sum()))
    assert detector.attributions(vector) == expected
