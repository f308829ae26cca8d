"""foresight_action_info{text} and foresight_driver_info{text} change only in substance, so
a target at risk does not make Prometheus a new series at every evaluation."""
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.publish.metrics import PredictionCollector
from foresight.publish.stable_text import HeldTexts, same_in_substance
from foresight.runtime.engine import Engine

T0 = 1_767_225_600.0
INFO_FAMILIES = ("foresight_action_info", "foresight_driver_info")


def test_same_in_substance():
    held = "disk +1.2 GiB per hour, at 80 GiB of 100 GiB"
    assert same_in_substance(held, "disk +1.25 GiB per hour, at 81 GiB of 100 GiB")
    assert not same_in_substance(held, "disk +1.4 GiB per hour, at 80 GiB of 100 GiB")  # 17% faster
    assert not same_in_substance(held, "disk -1.2 GiB per hour, at 80 GiB of 100 GiB")  # the sign flipped
    assert not same_in_substance(held, "disk +1.2 MiB per hour, at 80 GiB of 100 GiB")  # other words
    # A clock time compares as minutes of the day: a change point a few minutes later is the same.
    assert same_in_substance("rate +40% since 14:00 (r=0.86)", "rate +42% since 14:05 (r=0.84)")
    assert not same_in_substance("rate +40% since 14:00", "rate +40% since 16:30")


def test_a_held_text_changes_once_a_number_drifts_past_the_tolerance_from_it():
    texts = HeldTexts()
    published = [texts.hold(("k", "action"), f"grow to {n} GiB") for n in range(100, 131)]
    # 100 is held until 112 (apart by more than 10% of the larger), which is held until 125.
    assert sorted(set(published)) == ["grow to 100 GiB", "grow to 112 GiB", "grow to 125 GiB"]
    texts.forget(set())
    assert texts.hold(("k", "action"), "grow to 105 GiB") == "grow to 105 GiB"


def test_a_steady_ramp_does_not_make_a_new_series_every_evaluation():
    """Four hours of a disk filling at a steady rate, evaluated and scraped every minute."""
    config = parse_config("""
predictors:
  - name: disk
    kind: exhaustion
    series: used
    limit: 100Gi
    unit: bytes
    resource: disk
    policy: {min_history: 0s}
    action: Grow the volume from {limit} to {needed}; it is at {observed} and full in {ttf}.
""")
    engine = Engine(config)
    collector = PredictionCollector(config.predictors)
    registry = CollectorRegistry()
    registry.register(collector)
    seen = {name: set() for name in INFO_FAMILIES}
    raw_actions, at_risk = set(), 0
    for minute in range(4 * 60):
        t = T0 + 60 * minute
        engine.add_points("metrics", [Point("used", (("job", "db"),), t, (40 + 0.2 * minute) * 2**30, GAUGE)])
        predictions = engine.evaluate()
        collector.update(predictions, engine.withdrawn, now=t)
        for p in predictions:
            if p.risk_level:
                at_risk += 1
                raw_actions.add(p.action)
        for family in text_string_to_metric_families(generate_latest(registry).decode()):
            if family.name in seen:
                seen[family.name] |= {tuple(sorted(s.labels.items())) for s in family.samples}
    assert at_risk > 150
    # Unheld, the numbers in the texts would make (nearly) a new series at every evaluation.
    assert len(raw_actions) > at_risk / 2
    assert 1 < len(seen["foresight_action_info"]) <= at_risk / 10, len(seen["foresight_action_info"])
    assert 1 <= len(seen["foresight_driver_info"]) <= at_risk / 10, len(seen["foresight_driver_info"])
