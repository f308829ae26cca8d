"""The whole path with real servers: loadgen -> OTLP collector (rotel) -> Kafka API broker
(tansu) -> sidecar -> Prometheus (the repo's rules) -> Alertmanager (the repo's routes) ->
webhook. This is `make demo`'s code, played faster."""
import io
from pathlib import Path

import pytest
import requests

from foresight_dev.devstack.demo import Demo, daily_profiles

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = io.StringIO()
    run = Demo("memory-leak", speed=600, workdir=tmp_path_factory.mktemp("stack"), repo_dir=REPO, out=out)
    try:
        run.start()
        send_garbage(run.stack.urls["kafka"])
        run.exit_code = run.play(timeout=240)
        run.output = out.getvalue()
        yield run
    finally:
        run.stop()


def test_the_daily_profile_is_fitted_from_15_second_data(demo):
    """Two days of history at loadgen's 15 s step: the exhaustion targets know their day."""
    profiles = daily_profiles(demo.stack.urls["predictor"])
    fitted = [days for days in profiles.get("memory", []) if days >= 2]
    assert len(fitted) >= 3, (profiles, demo.output)
    assert "Daily profiles: " in demo.output


def send_garbage(bootstrap):
    """Bad messages on the real topics before the scenario: they must be counted, not fatal."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send("otlp_metrics", b"\xff\xff this is not protobuf")
    producer.send("otlp_logs", b"\x0a\x05abc")
    producer.flush()
    producer.close()


def query(demo, promql):
    body = requests.get(demo.stack.urls["prometheus"] + "/api/v1/query", params={"query": promql}).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scraped_the_predictions(demo):
    series = query(demo, 'foresight_time_to_failure_seconds{predictor="memory",service="checkout"}')
    assert {s["metric"]["quantile"] for s in series} == {"0.1", "0.5", "0.9"}
    assert query(demo, 'foresight_points_ingested_total{signal="metrics"} > 0')
    assert query(demo, 'foresight_points_ingested_total{signal="logs"} > 0')
    assert query(demo, 'foresight_points_ingested_total{signal="traces"} > 0')


def test_the_rule_fired(demo):
    fired = query(demo, 'max_over_time(ALERTS{alertname="ForesightExhaustionPredicted",'
                        'alertstate="firing",service="checkout"}[30m])')
    assert {s["metric"]["severity"] for s in fired} >= {"warning"}


def test_webhook_received_the_time_to_failure_text_before_the_failure(demo):
    assert demo.failures, demo.output
    assert demo.collector_errors() == []  # every export reached Kafka: nothing the sidecar saw was cut
    # The first notification of the memory prediction (pipeline alerts, and the lifecycle's
    # ForesightModelDrift when the leak makes the forecasts miss, come on their own).
    memory = [a for _, _, p in demo.notifications if p["status"] == "firing"
              for a in p["alerts"] if a["labels"].get("predictor") == "memory"
              and a["labels"].get("alertname") == "ForesightExhaustionPredicted"]
    assert memory, demo.output
    summary = memory[0]["annotations"]["summary"]
    assert summary.startswith("checkout (checkout-0): memory will reach its limit of 2Gi in ~"), summary
    assert "80% range" in summary
    description = memory[0]["annotations"]["description"]
    assert "Why: " in description
    assert "Action:" in description
    # Every metric the templates look up was published: none rendered as "?".
    assert "?" not in summary and "?" not in description, description
    assert demo.first_alert_lead() > 30 * 60
    assert demo.exit_code == 0
    assert "Lead time" in demo.output


def test_bad_messages_on_kafka_were_counted_and_the_pipeline_kept_going(demo):
    bad = query(demo, 'foresight_bad_input_total{reason="malformed_protobuf"}')
    assert float(bad[0]["value"][1]) >= 2
    # predictions kept flowing after the bad messages
    assert query(demo, 'foresight_observed_value{predictor="memory",service="checkout"} > 0')


def test_pipeline_health_is_published(demo):
    assert {s["metric"]["topic"] for s in query(demo, "foresight_consumer_lag_messages")} >= {"otlp_metrics"}
    assert query(demo, "foresight_inference_duration_seconds_count > 0")
    assert query(demo, "foresight_event_time_seconds > 1767225600")
