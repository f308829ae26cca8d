import math

from prometheus_client import CollectorRegistry, generate_latest

from foresight.config import parse_config
from foresight.contracts.predictions import Prediction
from foresight.publish.metrics import HealthMetrics, PredictionCollector

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: used
    limit: 100
    resource: memory
    unit: bytes
    action: Raise the limit
""")


def prediction():
    return Prediction(
        predictor="memory", labels={"service": "checkout"}, timestamp=1000.0, observed=80.0, limit=100.0,
        trend_per_second=0.5, ttf={0.1: 30.0, 0.5: 40.0, 0.9: math.inf},
        probability={3600.0: 1.0, 21600.0: 1.0, 86400.0: 1.0},
        forecast={(3600.0, 0.1): 90.0, (3600.0, 0.5): 95.0, (3600.0, 0.9): 99.0}, model="ets-damped",
        risk_level=3)


def registry_with(predictions):
    registry = CollectorRegistry()
    collector = PredictionCollector(CONFIG.predictors)
    registry.register(collector)
    collector.update(predictions)
    return registry


def test_prediction_values_by_label():
    r = registry_with([prediction()])
    ids = {"predictor": "memory", "service": "checkout"}
    assert r.get_sample_value("foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"}) == 40.0
    assert r.get_sample_value("foresight_time_to_failure_seconds", {**ids, "quantile": "0.9"}) == math.inf
    assert r.get_sample_value("foresight_failure_probability", {**ids, "horizon": "6h"}) == 1.0
    assert r.get_sample_value("foresight_failure_probability", {**ids, "horizon": "24h"}) == 1.0
    assert r.get_sample_value("foresight_forecast_value", {**ids, "horizon": "1h", "quantile": "0.9"}) == 99.0
    assert r.get_sample_value("foresight_risk_level", ids) == 3
    assert r.get_sample_value("foresight_limit_value", ids) == 100
    assert r.get_sample_value("foresight_model_info", {**ids, "model": "ets-damped"}) == 1
    assert r.get_sample_value("foresight_predictor_info", {"predictor": "memory", "kind": "exhaustion",
                                                           "resource": "memory", "unit": "bytes",
                                                           "action": "Raise the limit"}) == 1


def test_exposition_bytes_are_exact():
    text = generate_latest(registry_with([prediction()])).decode()
    assert 'foresight_time_to_failure_seconds{predictor="memory",quantile="0.9",service="checkout"} +Inf\n' in text
    assert '# TYPE foresight_risk_level gauge\n' in text
    assert 'foresight_risk_level{predictor="memory",service="checkout"} 3.0\n' in text


def test_no_predictions_yet_still_publishes_predictor_info():
    text = generate_latest(registry_with([])).decode()
    assert "foresight_predictor_info{" in text and "foresight_time_to_failure_seconds{" not in text


def test_health_metrics_start_at_zero():
    r = CollectorRegistry()
    HealthMetrics(r)
    assert r.get_sample_value("foresight_points_ingested_total", {"signal": "logs"}) == 0
    assert r.get_sample_value("foresight_bad_input_total", {"reason": "malformed_protobuf"}) == 0


def test_withdrawn_and_stale_predictions_leave_the_exposition():
    from dataclasses import replace

    registry = CollectorRegistry()
    collector = PredictionCollector(CONFIG.predictors)
    registry.register(collector)
    other = replace(prediction(), labels={"service": "payments"}, timestamp=5000.0)
    collector.update([prediction(), other])
    ids = {"predictor": "memory", "service": "checkout"}
    assert registry.get_sample_value("foresight_risk_level", ids) == 3
    collector.update([], withdrawn=[prediction().key])
    assert registry.get_sample_value("foresight_risk_level", ids) is None
    assert registry.get_sample_value("foresight_risk_level", {**ids, "service": "payments"}) == 3
    collector.update([], now=5000.0 + 3601)  # payments has not been renewed for over an hour
    assert registry.get_sample_value("foresight_risk_level", {**ids, "service": "payments"}) is None


def test_explained_anomaly_publishes_score_attributions_why_action_and_incident():
    p = Prediction(predictor="memory", labels={"service": "checkout"}, timestamp=1000.0, observed=5.0,
                   anomaly_score=0.97, attributions={"request rate: z-score": 0.7, "latency: delta": 0.3},
                   drivers=["request rate +40% since 14:00 (r=0.86, leading by 10 min)"],
                   action="Raise the limit to 3 GiB", incident=("db-20261122T1405", "db"), risk_level=2)
    r = registry_with([p])
    ids = {"predictor": "memory", "service": "checkout"}
    assert r.get_sample_value("foresight_anomaly_score", ids) == 0.97
    assert r.get_sample_value("foresight_attribution_ratio", {**ids, "feature": "latency: delta"}) == 0.3
    assert r.get_sample_value("foresight_driver_info", {
        **ids, "rank": "1", "text": "request rate +40% since 14:00 (r=0.86, leading by 10 min)"}) == 1
    assert r.get_sample_value("foresight_action_info", {**ids, "text": "Raise the limit to 3 GiB"}) == 1
    assert r.get_sample_value("foresight_incident_info", {**ids, "incident": "db-20261122T1405",
                                                          "root_cause": "db"}) == 1
    # An anomaly has no limit or time to failure: those series are absent, not zero.
    assert r.get_sample_value("foresight_limit_value", ids) is None
    assert r.get_sample_value("foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"}) is None


def test_why_and_action_only_while_at_risk():
    p = Prediction(predictor="memory", labels={"service": "checkout"}, timestamp=1000.0, observed=5.0,
                   anomaly_score=0.2, drivers=["something"], action="do it", risk_level=0)
    r = registry_with([p])
    ids = {"predictor": "memory", "service": "checkout"}
    assert r.get_sample_value("foresight_driver_info", {**ids, "rank": "1", "text": "something"}) is None
    assert r.get_sample_value("foresight_action_info", {**ids, "text": "do it"}) is None


def test_policy_thresholds_are_published():
    registry = CollectorRegistry()
    registry.register(PredictionCollector(CONFIG.predictors, thresholds=lambda: {"memory": 0.62}))
    assert registry.get_sample_value("foresight_policy_threshold", {"predictor": "memory"}) == 0.62


def test_an_exhaustion_target_is_ready_once_its_daily_pattern_is_known():
    """min_history (36 h), and without a daily profile peer_history (49 h): until then it may only page."""
    def ready(hours, profile_days, failures_seen=0):
        p = prediction()
        p.history_seconds, p.daily_profile_days, p.failures_seen = hours * 3600.0, profile_days, failures_seen
        return registry_with([p]).get_sample_value("foresight_predictor_ready", {"predictor": "memory"})
    assert ready(30, 2) == 0 and ready(40, 2) == 1
    assert ready(40, 0) == 0 and ready(50, 0) == 1
    assert ready(40, 0, failures_seen=1) == 1  # it has reached its limit before: no new target
