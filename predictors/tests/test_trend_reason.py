"""The trend line of a notification reads right for a fill and for a drain."""
from foresight.config import parse_config
from foresight.contracts.predictions import Prediction
from foresight.explain.explainer import trend_reason

GiB = 2**30


def config(direction):
    return parse_config(f"""
predictors:
  - name: disk
    kind: exhaustion
    series: node_filesystem_avail_bytes
    limit: 0
    direction: {direction}
    resource: disk
    unit: bytes
""").predictors[0]


def prediction(observed, limit, per_second):
    return Prediction(predictor="disk", labels={}, timestamp=0.0, observed=observed, limit=limit,
                      trend_per_second=per_second)


def test_a_drain_names_its_floor_not_a_limit_of_nothing():
    text = trend_reason(config("down"), prediction(44.2 * GiB, 0.0, -GiB / 3600))
    assert text == "disk -1 GiB per hour, at 44.2 GiB, floor 0 B"


def test_a_fill_names_its_limit():
    text = trend_reason(config("up"), prediction(80 * GiB, 100 * GiB, 1.2 * GiB / 3600))
    assert text == "disk +1.2 GiB per hour, at 80 GiB of 100 GiB"


def test_a_bursty_target_says_how_high_its_bursts_rise():
    # Its limit is reached by a burst's top, not by the trend: the words say so.
    p = prediction(80 * GiB, 100 * GiB, 1.2 * GiB / 3600)
    p.burst_height = 9 * GiB
    assert trend_reason(config("up"), p) == "disk +1.2 GiB per hour, at 80 GiB of 100 GiB, bursts of about 9 GiB above the trend"
    assert trend_reason(config("down"), p).endswith(", bursts of about 9 GiB below the trend")
