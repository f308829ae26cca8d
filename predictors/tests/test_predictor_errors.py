"""An unexpected exception in one predictor, or in one target's model, is caught, counted
in foresight_predictor_errors_total{predictor} and logged once per exception type with
its traceback; every other target and predictor keeps running."""
import logging
from dataclasses import dataclass

import pytest

from foresight.config import Fields, PredictorConfig, parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.predictions import Prediction
from foresight.predictors.base import Predictor
from foresight.predictors.registry import PLUGINS
from foresight.runtime.service import Service, Settings

T0 = 1_767_225_600.0


@dataclass
class FlakyConfig(PredictorConfig):
    @classmethod
    def from_fields(cls, f: Fields) -> "FlakyConfig":
        common = cls.read_common(f, policy_defaults=None)
        f.reject_unknown()
        return cls(**common)


class FlakyPredictor(Predictor):
    """A test-only kind: its model fails for the series of service `broken`."""
    Config = FlakyConfig

    def _predict(self, labels, window, store, now):
        if labels.get("job") == "broken":
            raise ZeroDivisionError("the model divided by zero")
        if labels.get("job") == "wrong":
            raise KeyError("a missing coefficient")
        return Prediction(self.config.name, {}, now, window.last_value, limit=100.0,
                          probability={3600.0: 1.0, 8 * 3600.0: 1.0, 24 * 3600.0: 1.0})


class BrokenPredictor(Predictor):
    """A test-only kind whose whole evaluation fails."""
    Config = FlakyConfig

    def evaluate(self, store):
        raise RuntimeError("this predictor is broken")


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setitem(PLUGINS, "flaky", f"{__name__}:FlakyPredictor")
    monkeypatch.setitem(PLUGINS, "broken", f"{__name__}:BrokenPredictor")


CONFIG = """
predictors:
  - name: flaky
    kind: flaky
    series: used
    policy: {min_history: 0s}
  - name: whole
    kind: broken
    series: used
  - name: memory
    kind: exhaustion
    series: used
    limit: 100
    policy: {min_history: 0s}
"""


def points(t: float, jobs=("checkout", "broken", "wrong")) -> list:
    return [Point("used", (("job", job),), t, 10.0 + (t - T0) / 60, GAUGE) for job in jobs]


def test_one_target_one_predictor_fail_and_the_rest_run_on(plugins, caplog):
    svc = Service(parse_config(CONFIG), Settings())
    rounds = 30
    with caplog.at_level(logging.DEBUG, logger="foresight.predictors.base"):
        for minute in range(rounds):
            svc.engine.add_points("metrics", points(T0 + 60 * minute))
            predictions = svc.engine.evaluate()
            svc.publish(predictions)
    by_predictor = {}
    for p in predictions:
        by_predictor.setdefault(p.predictor, set()).add(p.labels["service"])
    # The flaky kind still predicts its healthy target; exhaustion predicts all three.
    assert by_predictor == {"flaky": {"checkout"}, "memory": {"checkout", "broken", "wrong"}}
    value = svc.registry.get_sample_value
    assert value("foresight_predictor_errors_total", {"predictor": "flaky"}) == 2 * rounds
    assert value("foresight_predictor_errors_total", {"predictor": "whole"}) == rounds
    assert value("foresight_predictor_errors_total", {"predictor": "memory"}) == 0
    assert value("foresight_risk_level", {"predictor": "flaky", "service": "checkout"}) == 3
    assert value("foresight_risk_level", {"predictor": "flaky", "service": "broken"}) is None
    # Logged with the traceback once per predictor and exception type, then quietly counted.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert sorted(r.exc_info[0].__name__ for r in errors) == ["KeyError", "RuntimeError", "ZeroDivisionError"]
    broken = next(r for r in errors if r.exc_info[0] is ZeroDivisionError)
    assert "predictor flaky" in broken.getMessage() and "'service': 'broken'" in broken.getMessage()
    assert "the model divided by zero" in caplog.text  # the traceback's last line
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 3 * rounds - 3


def test_a_target_whose_model_starts_failing_is_withdrawn(plugins):
    svc = Service(parse_config(CONFIG), Settings())
    for minute in range(5):
        svc.engine.add_points("metrics", points(T0 + 60 * minute, jobs=("checkout", "later")))
        svc.publish(svc.engine.evaluate())
    assert svc.registry.get_sample_value("foresight_risk_level", {"predictor": "flaky", "service": "later"}) == 3
    FlakyPredictor._predict, healthy = _failing_for("later"), FlakyPredictor._predict
    try:
        svc.engine.add_points("metrics", points(T0 + 300, jobs=("checkout", "later")))
        svc.publish(svc.engine.evaluate())
    finally:
        FlakyPredictor._predict = healthy
    assert ("flaky", (("service", "later"),)) in svc.engine.withdrawn
    assert svc.registry.get_sample_value("foresight_risk_level", {"predictor": "flaky", "service": "later"}) is None
    assert svc.registry.get_sample_value("foresight_risk_level", {"predictor": "flaky", "service": "checkout"}) == 3


def _failing_for(job: str):
    healthy = FlakyPredictor._predict

    def predict(self, labels, window, store, now):
        if labels.get("job") == job:
            raise ValueError("fit diverged")
        return healthy(self, labels, window, store, now)
    return predict


def test_the_sidecar_keeps_handling_messages(plugins):
    """Through Service.handle, the path `foresight run` takes for every Kafka batch."""
    from otlp_builders import gauge_payload

    svc = Service(parse_config(CONFIG.replace("series: used", "series: process_memory_usage_bytes")), Settings())
    for minute in range(3):
        svc.handle([("metrics", gauge_payload("process.memory.usage", "By", [(T0 + 60 * minute, 50.0)]))])
    assert svc.registry.get_sample_value("foresight_predictor_errors_total", {"predictor": "whole"}) == 3
    assert svc.registry.get_sample_value("foresight_risk_level", {"predictor": "flaky", "service": "checkout",
                                                                  "service_instance": "checkout-0"}) == 3
