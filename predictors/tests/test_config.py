import pytest

from foresight.config import ConfigError, load_config, parse_config, parse_quantity
from foresight.contracts.durations import parse_duration
from foresight.runtime.cli import main

MINIMAL = """
predictors:
  - name: used
    kind: exhaustion
    series: used
    limit_series: limit
    horizon: 24h
"""


def parse(text):
    return parse_config(text, "p.yaml")


def test_minimal_config_gets_defaults():
    cfg = parse(MINIMAL).predictors[0]
    assert cfg.name == "used" and cfg.horizon == 86400
    assert cfg.series.promql() == "used" and cfg.limit_series.promql() == "limit"
    assert cfg.lookback == 7200 and cfg.direction == "up"
    assert cfg.policy.warning_within == 8 * 3600


def test_selector_with_matchers_round_trips():
    cfg = parse(MINIMAL.replace("series: used", "series: 'used{job=\"checkout\", env=~\"prod|stage\"}'")).predictors[0]
    assert cfg.series.matches("used", {"job": "checkout", "env": "prod"})
    assert not cfg.series.matches("used", {"job": "checkout", "env": "dev"})
    assert cfg.series.promql() == 'used{job="checkout",env=~"prod|stage"}'


@pytest.mark.parametrize("text, field, reason", [
    ("", "", "empty"),
    ("predictors: []", "predictors", "non-empty list"),
    ("other: 1\npredictors: []", "other", "unknown field"),
    ("predictors:\n  - name: a\n    kind: nope\n    series: x", "predictors[0].kind", "valid kinds: anomaly, exhaustion, logs"),
    ("predictors:\n  - kind: exhaustion\n    series: x\n    limit: 1", "predictors[0].name", "required"),
    (MINIMAL.replace("24h", "24x"), "predictors[0].horizon", "not a duration"),
    (MINIMAL.replace("limit_series: limit", "limit_series: limit\n    limit: 5"), "predictors[0].limit", "exactly one"),
    (MINIMAL.replace("limit_series: limit", "limit: lots"), "predictors[0].limit", "not a number"),
    (MINIMAL.replace("series: used", "series: 'used{job=checkout}'"), "predictors[0].series", "label matcher"),
    (MINIMAL + "    horizn: 1h\n", "predictors[0].horizn", "unknown field"),
    (MINIMAL + "    direction: sideways\n", "predictors[0].direction", "not one of up, down"),
    (MINIMAL + "    policy:\n      probability: 2\n", "predictors[0].policy.probability", "outside"),
    (MINIMAL + "    policy:\n      fleet_share: 1.5\n", "predictors[0].policy.fleet_share", "outside"),
    (MINIMAL + MINIMAL.split("predictors:")[1], "predictors[1].name", "unique"),
    ("predictors: [\n", "line", "invalid YAML"),
])
def test_invalid_configs_name_file_field_and_reason(text, field, reason):
    with pytest.raises(ConfigError) as err:
        parse(text)
    message = str(err.value)
    assert message.startswith("p.yaml")
    assert field in message and reason in message


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "absent.yaml")


def test_check_command_exit_codes(tmp_path, capsys):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(MINIMAL)
    bad.write_text(MINIMAL.replace("24h", "soon"))
    assert main(["check", "-c", str(good)]) == 0
    assert "ok, 1 predictor" in capsys.readouterr().out
    assert main(["check", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "predictors[0].horizon" in err and "'soon' is not a duration" in err


def test_shipped_config_is_valid():
    from pathlib import Path
    cfg = load_config(Path(__file__).parents[1] / "config" / "predictors.yaml")
    assert {p.name for p in cfg.predictors} == {"memory", "db-pool", "disk", "db-cpu", "db-cpu-anomaly", "latency",
                                                "errors", "log-patterns", "checkout-latency"}


def test_durations_and_quantities():
    assert parse_duration("1h30m") == 5400 and parse_duration("90s") == 90 and parse_duration(15) == 15
    assert parse_quantity("2Gi") == 2**31 and parse_quantity("80%") == 0.8 and parse_quantity(100) == 100
    with pytest.raises(ValueError):
        parse_duration("h1")
