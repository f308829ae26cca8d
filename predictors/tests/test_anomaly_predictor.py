"""The `anomaly` kind through the engine: a score per series, and the why when it alerts."""
import math

import numpy as np
import pytest

from foresight.config import ConfigError, parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.predictors.anomaly import DetectorSettings
from foresight.runtime.engine import Engine

CONFIG = """
predictors:
  - name: latency
    kind: anomaly
    series: latency_seconds
    resource: request latency
    drivers:
      request rate: requests_per_second
      cpu: cpu_ratio
    multivariate: {}
    policy: {score_threshold: 0.9, min_history: 1m}
    action: Scale {service} out; the anomaly score is {score}.
"""
T0 = 1_767_225_600.0
STEP = 60.0


def feed(engine, minutes, start=0, surge_at=None):
    """Load follows a daily cycle; latency follows load; from `surge_at` the request rate
    jumps by 60% and latency follows ten minutes later. CPU is unrelated noise."""
    rng = np.random.default_rng(7)
    results = []
    for m in range(start, start + minutes):
        t = T0 + m * STEP
        rate = 100 + 30 * math.sin(2 * math.pi * m / 1440) + rng.normal(0, 2)
        if surge_at is not None and m >= surge_at:
            rate *= 1.6
        lagged = surge_at is not None and m >= surge_at + 10
        latency = 0.05 + 0.0002 * rate * (1.8 if lagged else 1.0) + rng.normal(0, 0.001)
        cpu = 0.4 + rng.normal(0, 0.02)
        labels = (("job", "checkout"),)
        engine.add_points("metrics", [Point("requests_per_second", labels, t, rate, GAUGE),
                                      Point("cpu_ratio", labels, t, cpu, GAUGE),
                                      Point("latency_seconds", labels, t, latency, GAUGE)])
        results += engine.evaluate()
    return results


@pytest.fixture(scope="module")
def surge():
    engine = Engine(parse_config(CONFIG))
    quiet = feed(engine, 9 * 60)
    loud = feed(engine, 40, start=9 * 60, surge_at=9 * 60)
    return quiet, loud


def test_every_point_after_the_warm_up_is_scored_within_zero_and_one(surge):
    quiet, loud = surge
    assert len(quiet) == 9 * 60 and len(loud) == 40
    warmup = DetectorSettings().warmup_rows
    assert all(p.anomaly_score is None and p.risk_level == 0 for p in quiet[:warmup])
    assert all(0.0 <= p.anomaly_score <= 1.0 for p in quiet[warmup:] + loud)
    assert all(p.labels == {"service": "checkout"} and p.ttf == {} and p.limit is None for p in quiet)


def test_the_surge_scores_above_the_quiet_hours(surge):
    quiet, loud = surge
    assert max(p.anomaly_score for p in loud) > np.quantile([p.anomaly_score for p in quiet[-180:]], 0.99)


def test_an_alert_says_why_and_what_to_do(surge):
    _, loud = surge
    alerting = [p for p in loud if p.risk_level]
    assert alerting, "the surge never reached the policy's threshold"
    p = alerting[-1]
    assert p.risk_level == 2  # anomalies enter `score_severity`, warning by default
    assert p.drivers and "request rate" in p.drivers[0]
    assert not any(d.startswith("cpu") for d in p.drivers[:1])
    assert p.action == f"Scale checkout out; the anomaly score is {p.anomaly_score:.2f}."
    # The multivariate model attributes the anomaly: shares of its features, summing to 1.
    explained = [q for q in loud if q.attributions]
    assert explained and sum(explained[-1].attributions.values()) == pytest.approx(1.0)


def test_multivariate_without_drivers_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        parse_config("predictors:\n  - name: a\n    kind: anomaly\n    series: x\n    multivariate: {trees: 10}\n",
                     "p.yaml")
    assert "predictors[0].multivariate" in str(err.value) and "drivers" in str(err.value)


def test_detector_settings_errors_name_the_field():
    with pytest.raises(ConfigError) as err:
        parse_config("predictors:\n  - name: a\n    kind: anomaly\n    series: x\n    detector: {no_such: 1}\n",
                     "p.yaml")
    assert "predictors[0].detector" in str(err.value) and "no_such" in str(err.value)


def test_without_drivers_the_why_names_the_check_that_fired():
    engine = Engine(parse_config("predictors:\n  - name: q\n    kind: anomaly\n    series: queue_depth\n"
                                 "    resource: queue depth\n    policy: {min_history: 1m}\n"))
    rng = np.random.default_rng(3)
    results = []
    for m in range(900):
        value = 50 + rng.normal(0, 1) + (40 if m >= 880 else 0)
        engine.add_points("metrics", [Point("queue_depth", (("job", "worker"),), T0 + 60 * m, value, GAUGE)])
        results += engine.evaluate()
    alerting = [p for p in results if p.risk_level]
    assert alerting and alerting[0].drivers
    assert alerting[0].drivers[0].startswith("queue depth is ")


def test_an_exhaustion_alert_without_drivers_gives_its_trend_as_why():
    engine = Engine(parse_config("predictors:\n  - name: disk\n    kind: exhaustion\n    series: used\n"
                                 "    limit: 100\n    resource: disk\n"
                                 "    policy: {min_history: 1m}\n"))
    results = []
    for m in range(300):
        engine.add_points("metrics", [Point("used", (), T0 + 60 * m, 20 + m * 0.25, GAUGE)])
        results += engine.evaluate()
    alerting = [p for p in results if p.risk_level]
    assert alerting and alerting[-1].drivers[0].startswith("disk +")
    assert "per hour, at" in alerting[-1].drivers[0] and alerting[-1].drivers[0].endswith("of 100")


def test_a_driver_that_did_not_move_is_not_given_as_the_why():
    engine = Engine(parse_config("predictors:\n  - name: disk\n    kind: exhaustion\n    series: used\n"
                                 "    limit: 100\n    resource: disk\n    drivers: {request rate: rps}\n"
                                 "    policy: {min_history: 1m}\n"))
    rng = np.random.default_rng(5)
    results = []
    for m in range(300):
        t = T0 + 60 * m
        engine.add_points("metrics", [Point("used", (), t, 20 + m * 0.25, GAUGE),
                                      Point("rps", (), t, 100 + rng.normal(0, 1), GAUGE)])
        results += engine.evaluate()
    alerting = [p for p in results if p.risk_level]
    assert alerting and alerting[-1].drivers[0].startswith("disk +")
    assert not any(d.startswith("request rate") for d in alerting[-1].drivers)
