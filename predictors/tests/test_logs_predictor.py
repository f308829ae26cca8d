"""The `logs` kind through the engine: OTLP log payloads in, per-service scores out."""
import random

import pytest
from otlp_builders import logs_payload

from foresight.config import ConfigError, parse_config
from foresight.runtime.engine import Engine

CONFIG = """
predictors:
  - name: log-patterns
    kind: logs
    resource: logs
    policy: {min_history: 1m}  # alert from the start: the test has two hours, not days
  - name: memory-anomaly
    kind: anomaly
    series: process_memory_usage_bytes
    drivers:
      log anomalies: log_anomaly_score
"""
T0 = 1_767_225_600.0


def normal_minute(rng, t):
    return [(t + s, "INFO", f"GET /api/cart/{rng.randint(1, 9999)} 200 in {rng.randint(3, 90)} ms from "
                            f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
            for s in range(0, 60, 5)]


def run_minutes(engine, rng, start, minutes, extra=None):
    results = []
    for m in range(minutes):
        t = start + 60 * m
        records = normal_minute(rng, t) + (extra(t) if extra else [])
        engine.ingest("logs", logs_payload("checkout", records))
        results += engine.evaluate()
    return results


def test_a_new_error_template_raises_the_services_score_and_says_why():
    engine = Engine(parse_config(CONFIG))
    rng = random.Random(1)
    quiet = run_minutes(engine, rng, T0, 120)
    assert quiet and all(p.predictor == "log-patterns" for p in quiet)
    assert max(p.anomaly_score for p in quiet[-30:]) < 0.5

    def refused(t):
        return [(t + s, "ERROR", f"connection refused to 10.1.2.{rng.randint(1, 254)}:5432 after "
                                 f"{rng.randint(100, 900)} ms") for s in range(0, 60, 10)]
    noisy = run_minutes(engine, rng, T0 + 120 * 60, 10, refused)
    worst = max(noisy, key=lambda p: p.anomaly_score)
    assert worst.anomaly_score >= 0.5 and worst.labels == {"service": "checkout"}
    assert worst.risk_level == 2  # warning: the logs policy's default score severity
    assert "connection refused" in worst.drivers[0]
    # Cardinality is bounded and the counts are published per template.
    assert 0 < len(worst.log_templates) <= 20 + 5
    assert any("connection refused" in template for _, template, _, _ in worst.log_templates)
    # The score is also a series other predictors can read as a driver.
    assert any(key[0] == "log_anomaly_score" for key in engine.store.windows)


def test_bad_log_records_are_counted_not_raised():
    engine = Engine(parse_config(CONFIG))
    engine.ingest("logs", logs_payload("checkout", [(T0, "INFO", "")]))  # empty body
    engine.ingest("logs", b"\x00garbage")
    engine.evaluate()
    bad = engine.bad_input()
    assert bad.get("malformed_protobuf") == 1
    assert sum(n for reason, n in bad.items() if reason.startswith("log_")) == 1


def test_logs_kind_takes_no_series():
    with pytest.raises(ConfigError) as err:
        parse_config("predictors:\n  - name: l\n    kind: logs\n    series: up\n", "p.yaml")
    assert "predictors[0].series" in str(err.value) and "log records" in str(err.value)


def test_a_backlog_of_hours_in_one_batch_is_counted_not_dropped():
    engine = Engine(parse_config(CONFIG))
    rng = random.Random(2)
    backlog = [r for m in range(180) for r in normal_minute(rng, T0 + 60 * m)]
    engine.ingest("logs", logs_payload("checkout", backlog))
    engine.evaluate()
    assert engine.bad_input().get("log_too_late", 0) == 0
