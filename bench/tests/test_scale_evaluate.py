"""bench/scale/evaluate.py: its history is what the store would hold, and a short run measures."""
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))

from scale.evaluate import T0, report, run_evaluate, window_state  # noqa: E402


def test_history_is_the_store_form_of_the_points():
    from foresight.store import StoreSettings, Window

    settings = StoreSettings()
    t = T0 + np.arange(0, 3 * 86400 + 1, 60, dtype=np.float64)
    v = np.random.default_rng(0).normal(size=t.size).cumsum()
    fed = Window(settings.raw_span, settings.bin_width, settings.max_age, settings.max_raw)
    for x, y in zip(t.tolist(), v.tolist()):
        fed.append(x, y)
    made = Window.from_state(window_state(t, v, settings))
    assert made.raw_since <= t[-1] - settings.raw_span  # the predictors' raw lookback is all there
    bins = int(np.searchsorted(fed.times, fed.raw_since))  # fed compacts a few bins at a time
    assert bins > 500
    assert np.array_equal(made.times[:bins], fed.times[:bins])
    assert np.array_equal(made.values[:bins], fed.values[:bins])
    raw = int(np.searchsorted(fed.times, made.raw_since))
    assert np.array_equal(made.times[-(fed.times.size - raw):], fed.times[raw:])
    assert np.array_equal(made.values[-(fed.values.size - raw):], fed.values[raw:])


def test_a_short_run_times_every_target(tmp_path):
    r = run_evaluate(40, 3)
    assert r["first_predictions"] >= 35 and r["predictions_per_loop_min"] >= 35
    assert r["predictor_errors"] == 0
    for name in ("evaluate_wall", "evaluate_cpu", "predict_linear_wall", "predictions_out_wall", "predictions_out_cpu"):
        assert 0 < r[name]["p50"] <= r[name]["p99"] <= r[name]["max"]
    assert r["refits_after_predictions"]  # the predictions are timed apart from the refits after them
    assert r["predictions_out_wall"]["mean"] <= r["evaluate_wall"]["mean"]
    r["label"], r["load_average"] = "test", [0.0, 0.0]
    (tmp_path / "scale-evaluate.json").write_text(__import__("json").dumps({"evaluate": {"40:test": r}}))
    table = report(tmp_path)
    assert "| 40 | test | 3 |" in table
    assert f"| {r['predictions_out_cpu']['p50']:.3f} / **{r['predictions_out_cpu']['p99']:.3f}** s |" in table
