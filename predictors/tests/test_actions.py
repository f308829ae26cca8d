import math

import pytest

from foresight.config import ConfigError, check_action, parse_config
from foresight.contracts.predictions import Prediction
from foresight.contracts.units import format_quantity
from foresight.policy.actions import render_action


def config(action, unit="connections"):
    return parse_config(f"""
predictors:
  - name: db-pool
    kind: exhaustion
    series: used
    limit: 100
    unit: {unit}
    action: "{action}"
""").predictors[0]


def pool_prediction(**kw):
    values = dict(predictor="db-pool", labels={"service": "checkout"}, timestamp=0.0, observed=92.0, limit=100.0,
                  ttf={0.1: 5000.0, 0.5: 7200.0, 0.9: 9000.0},
                  forecast={(3600.0, 0.9): 101.0, (86400.0, 0.9): 117.5, (86400.0, 0.5): 110.0})
    values.update(kw)
    return Prediction(**values)


def test_action_is_filled_with_the_predictions_numbers():
    cfg = config("Increase the DB pool of {service} from {limit} to {needed} connections "
                 "to cover the next 24 h peak; {ttf} left.")
    text = render_action(cfg, pool_prediction())
    # needed = p90 peak 117.5 x 1.1 headroom = 129.25, rounded up to whole connections
    assert text == ("Increase the DB pool of checkout from 100 to at least 130 connections "
                    "to cover the next 24 h peak; 2.0 h left.")


def test_needed_is_never_below_the_limit_and_says_so_when_unknown_or_runaway():
    cfg = config("grow to {needed}")
    assert render_action(cfg, pool_prediction(forecast={(3600.0, 0.9): 50.0})) == "grow to at least 100"
    assert render_action(cfg, pool_prediction(forecast={})) == "grow to more (no forecast yet)"
    # A forecast of 4,000 for a pool of 100: a bigger pool only buys time.
    assert render_action(cfg, pool_prediction(forecast={(86400.0, 0.9): 4000.0})) == "grow to more than 200"


def test_bytes_read_as_binary_units():
    assert format_quantity(2 * 2**30, "bytes") == "2 GiB"
    assert format_quantity(1.5 * 2**20, "bytes") == "1.5 MiB"
    assert format_quantity(math.inf, "bytes") == "unknown"
    assert format_quantity(0.853, "ratio") == "85%"


def test_unknown_placeholder_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError) as err:
        config("grow to {needd}")
    assert "predictors[0].action" in str(err.value) and "{needd}" in str(err.value)
    with pytest.raises(ValueError):
        check_action("unbalanced {brace")
    check_action("literal {{braces}} are fine")
