"""When the generated rules would fire: `for:`, the severities' conditions, episodes."""
import pytest
import yaml

from foresight.config import parse_config
from foresight.contracts.predictions import Prediction
from foresight.generate.rules import AlertCondition as AlertRule, alert_conditions as alert_rules, generate_rules
from foresight.runtime.alert_episodes import AlertReplay, hold_for

CONFIG = """\
predictors:
  - name: disk
    kind: exhaustion
    series: used
    limit: 100
  - name: quiet
    kind: exhaustion
    series: used
    limit: 100
    alerting:
      severities: [info, warning]
      for: {info: 30m, warning: 0s}
  - name: latency
    kind: anomaly
    series: latency
    policy: {score_severity: critical}
"""


@pytest.fixture(scope="module")
def config():
    return parse_config(CONFIG)


def test_rules_are_the_generated_ones(config):
    disk, quiet, latency = config.predictors
    assert alert_rules(disk) == [AlertRule("warning", "==", 2, 300.0), AlertRule("critical", ">=", 3, 300.0)]
    # The most urgent enabled severity takes the levels above it: critical alerts as warning.
    assert alert_rules(quiet) == [AlertRule("info", "==", 1, 1800.0), AlertRule("warning", ">=", 2, 0.0)]
    # The anomaly kind holds 10 minutes by default (config.alerting.ANOMALY_HOLD): a rolling deploy's first hosts.
    assert alert_rules(latency) == [AlertRule("critical", ">=", 3, 600.0)]
    generated = yaml.safe_load(generate_rules(config))["groups"]
    for group, predictor in zip(generated, config.predictors):
        assert [(r["labels"]["severity"], r["for"]) for r in group["rules"]] == \
               [(r.severity, {0.0: "0s", 120.0: "2m", 300.0: "5m", 600.0: "10m", 1800.0: "30m"}[r.hold]) for r in alert_rules(predictor)]


def test_a_rule_holds_on_its_levels_only():
    warning, critical = AlertRule("warning", "==", 2, 0), AlertRule("critical", ">=", 2, 0)
    assert [warning.holds(level) for level in range(4)] == [False, False, True, False]
    assert [critical.holds(level) for level in range(4)] == [False, False, True, True]


def test_for_fires_once_the_condition_has_held_long_enough():
    times = [60.0 * i for i in range(10)]
    condition = [0, 1, 1, 1, 1, 1, 1, 0, 1, 1]
    assert hold_for(times, condition, 300).tolist() == [False] * 6 + [True, False, False, False]
    assert hold_for(times, condition, 0).tolist() == [bool(c) for c in condition]  # for: 0s fires at once


def prediction(t, level, name="disk", service="a", ttf=3000.0):
    return Prediction(predictor=name, labels={"service": service}, timestamp=t, observed=1.0, ttf={0.5: ttf},
                      drivers=[f"why at {t:g}"], risk_level=level)


def replay(config, levels: dict, steps: int, every: int = 1, name="disk", withdraw_at=()):
    """Feed one target's level at each step (60 s apart); a prediction every `every` steps."""
    alerts = AlertReplay(config.predictors)
    for i in range(steps):
        t = 60.0 * i
        predictions = [prediction(t, levels.get(i, 0), name, ttf=5000.0 - t)] if i % every == 0 else []
        withdrawn = [(name, (("service", "a"),))] if i in withdraw_at else []
        alerts.observe(t, [] if withdrawn else predictions, withdrawn)
    return alerts.episodes


def test_each_severity_fires_after_its_own_for_and_nothing_is_merged(config):
    # warning from step 1 to 7, critical from 8 to 14, nothing after.
    levels = {**{i: 2 for i in range(1, 8)}, **{i: 3 for i in range(8, 15)}}
    episodes = replay(config, levels, 18)
    assert [(e.severity, e.start, e.end) for e in episodes] == [
        ("warning", 360.0, 480.0),  # pending at 60, fires 5 min later; ends when the level moves to critical
        ("critical", 780.0, 900.0),  # pending at 480, fires 5 min later, resolves with the level
    ]
    assert episodes[0].ttf_at_start == 5000.0 - 360.0 and episodes[0].why == "why at 360"
    assert episodes[0].labels == {"service": "a"} and episodes[0].predictor == "disk"


def test_a_level_held_between_evaluations_keeps_the_rule_pending(config):
    # Predictions every 5 steps only: the published level stays in between, as /metrics keeps it.
    episodes = replay(config, {i: 2 for i in range(0, 20)}, 25, every=5)
    assert [(e.severity, e.start, e.end) for e in episodes] == [("warning", 300.0, 1200.0)]


def test_a_short_blip_never_fires(config):
    assert replay(config, {3: 2, 4: 2, 5: 2}, 10) == []


def test_a_withdrawn_prediction_resolves_its_alert(config):
    episodes = replay(config, {i: 3 for i in range(30)}, 30, withdraw_at=(10,))
    assert [(e.start, e.end) for e in episodes] == [(300.0, 600.0), (960.0, None)]  # fires again after


def test_a_prediction_not_renewed_for_an_hour_resolves(config):
    alerts = AlertReplay(config.predictors)
    alerts.observe(0.0, [prediction(0.0, 3)])
    for i in range(1, 70):
        alerts.observe(60.0 * i, [])
    (episode,) = alerts.episodes
    assert (episode.start, episode.end) == (300.0, 3660.0)


def test_the_most_urgent_enabled_severity_takes_the_levels_above(config):
    levels = {i: 3 for i in range(0, 5)}
    episodes = replay(config, levels, 10, name="quiet")
    assert [(e.severity, e.start, e.end) for e in episodes] == [("warning", 0.0, 300.0)]  # for: 0s


def test_targets_are_separate(config):
    alerts = AlertReplay(config.predictors)
    for i in range(10):
        t = 60.0 * i
        alerts.observe(t, [prediction(t, 3, service="a"), prediction(t, 3 if i < 5 else 0, service="b")])
    assert [(e.labels["service"], e.start) for e in alerts.episodes] == [("a", 300.0)]
