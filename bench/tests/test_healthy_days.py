"""bench/anomaly/healthy_days.py: the demo's telemetry through the engine, with the
default predictor config's anomaly predictors allowed to alert from the start."""
import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "anomaly"))
from healthy_days import REPO, healthy_until, replay  # noqa: E402

from foresight.config import Config, load_config  # noqa: E402


def test_a_healthy_day_raises_no_anomaly_alert_even_without_min_history():
    """No `policy.min_history` to hide behind: the detectors' warm-up alone must keep the
    first hours quiet, and sparse error rates must not alarm. (Before the warm-up was
    explicit, every series scored 1.0 right after it: a burst of "new" novelty steps.)"""
    full = load_config(REPO / "predictors" / "config" / "predictors.yaml")
    anomaly = [dataclasses.replace(p, policy=dataclasses.replace(p.policy, min_history=0.0))
               for p in full.predictors if p.kind == "anomaly"]
    result = replay(Config(full.source, anomaly), "healthy-day", seed=1, history=0, duration=8 * 3600)
    assert healthy_until(result, "healthy-day") == float("inf")
    assert result["episodes"] == []
    names = {key[0] for key in result["peaks"]}
    assert {"errors", "latency", "db-cpu-anomaly", "checkout-latency"} <= names  # every predictor scored
    assert max(score for score, _ in result["peaks"].values()) < 0.9
    assert result["unscored"]["errors"] > 0  # no score while warming up
