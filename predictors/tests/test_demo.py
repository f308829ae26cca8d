"""The demo's reporting, without starting the stack (test_end_to_end runs it for real)."""
import io
from pathlib import Path

from foresight_dev.devstack.demo import Demo, format_notification

REPO = Path(__file__).resolve().parents[2]


def demo(tmp_path):
    return Demo("memory-leak", 400, tmp_path, REPO, out=io.StringIO())


def test_a_failure_nobody_watches_is_not_called_a_miss(tmp_path):
    d = demo(tmp_path)
    d.failures = [{"sim_time": 100.0, "metric": "kafka_consumer_lag"}]
    assert d.summary() == 0
    assert "No predictor in" in d.out.getvalue() and "kafka_consumer_lag" in d.out.getvalue()


def test_a_watched_failure_without_notification_fails_the_demo(tmp_path):
    d = demo(tmp_path)
    d.failures = [{"sim_time": 100.0, "metric": "process_memory_usage_bytes"}]
    assert d.summary() == 1
    assert "No prediction for the service arrived before its failure." in d.out.getvalue()


def test_lead_time_is_measured_in_simulated_time(tmp_path):
    d = demo(tmp_path)
    d.failures = [{"sim_time": 100_000.0, "metric": "process_memory_usage_bytes", "service": "checkout"}]
    target = 'service="checkout",service_instance="checkout-0"'
    memory = {"status": "firing", "alerts": [{"labels": {"predictor": "memory", "service": "checkout",
                                                        "foresight_target": target}}]}
    d.notifications = [
        (1_000.0, "slack", {"status": "firing", "alerts": [{"labels": {"alertname": "ForesightInferenceSlow"}}]}),
        (1_500.0, "email", {"status": "firing", "alerts": [{"labels": {"alertname": "ForesightModelDrift",
                                                                       "predictor": "memory"}}]}),
        (2_000.0, "slack", {"status": "firing", "alerts": [{"labels": {"predictor": "memory", "service": "db",
                                                                       "foresight_target": 'service="db"'}}]}),
        (99_000.0, "slack", {"status": "resolved", "alerts": memory["alerts"]}),
        (94_000.0, "slack", memory),
    ]
    # Only the prediction for the failing service counts, not pipeline or lifecycle alerts
    # (no foresight_target) or other services.
    assert d.first_alert_lead() == 6_000.0
    assert d.summary() == 0


def test_notification_text_shows_severity_labels_and_annotations():
    text = format_notification("slack", {"status": "firing", "alerts": [{
        "labels": {"severity": "warning", "alertname": "ForesightExhaustionPredicted", "predictor": "memory",
                   "service": "checkout"},
        "annotations": {"summary": "checkout: memory will reach its limit", "description": "Action: restart"}}]})
    assert "[WARNING] ForesightExhaustionPredicted predictor=memory service=checkout" in text
    assert "checkout: memory will reach its limit" in text and "Action: restart" in text


def test_anomaly_alerts_during_the_healthy_history_are_counted(tmp_path):
    d = demo(tmp_path)
    d.scenario_start = 50_000.0
    errors = {"labels": {"alertname": "ForesightAnomalyDetected", "kind": "anomaly", "predictor": "errors",
                         "service": "payments"}}
    memory = {"labels": {"alertname": "ForesightExhaustionPredicted", "kind": "exhaustion", "predictor": "memory"}}
    d.notifications = [(40_000.0, "slack", {"status": "firing", "alerts": [errors, memory]}),
                       (41_000.0, "slack", {"status": "resolved", "alerts": [errors]}),
                       (60_000.0, "slack", {"status": "firing", "alerts": [errors]})]
    assert d.healthy_anomaly_alerts() == [errors]
    d.summary()
    assert "Anomaly alerts during the 2d of healthy history: 1 (errors on payments)" in d.out.getvalue()
