"""Prophet as an opt-in forecaster candidate of the exhaustion kind."""
import json

import numpy as np
import pytest

from foresight.config import ConfigError, parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.lifecycle import dumps, encode, loads
from foresight.predictors.exhaustion.forecasters import CANDIDATES, PROPHET, prophet_rate
from foresight.runtime.engine import Engine

DAY = 86400.0
T0 = 1_767_225_600


def series(days: float, slope: float, step: float = 60.0, seed: int = 3):
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, days * DAY, step)
    v = 40.0 + slope * (t - T0) + 8.0 * np.sin(2 * np.pi * (t - T0) / DAY) + rng.normal(0, 0.5, t.size)
    return t, v


def test_the_rate_is_the_trend_under_the_daily_cycle_and_the_model_is_kept_as_json():
    slope = 10.0 / DAY  # 10 a day under a daily swing of +-8
    t, v = series(4, slope)
    models = {}
    rate = prophet_rate(t, v, 8 * 3600.0, models)
    assert rate == pytest.approx(slope, rel=0.25)
    document = json.loads(models[PROPHET])  # Prophet's own JSON serialiser
    assert document["daily_seasonality"] is True and "params" in document
    # The next fit starts from the stored parameters and agrees.
    again = prophet_rate(t[: -60], v[: -60], 8 * 3600.0, models)
    assert again == pytest.approx(rate, rel=0.1)


def test_under_a_day_there_is_no_rate_and_a_flat_series_grows_at_zero():
    t, v = series(0.5, 1e-4)
    assert prophet_rate(t, v, 3600.0, {}) is None
    t, _ = series(2, 0.0)
    assert prophet_rate(t, np.full(t.size, 5.0), 3600.0, {}) == 0.0


def test_it_is_opt_in():
    assert PROPHET not in CANDIDATES
    default = parse_config("predictors:\n  - {name: m, kind: exhaustion, series: used, limit: 100}\n")
    assert PROPHET not in default.predictors[0].candidates
    with pytest.raises(ConfigError, match="candidates"):
        parse_config("predictors:\n  - {name: m, kind: exhaustion, series: used, limit: 100, "
                     "candidates: [robust-trend, profet]}\n")


def test_a_replay_scores_prophet_in_the_rolling_origin_choice_and_the_state_round_trips():
    config = parse_config("predictors:\n  - {name: m, kind: exhaustion, series: used, limit: 1000, "
                          "candidates: [robust-trend, ets-damped, prophet], model_refit_every: 2h}\n")
    engine = Engine(config)
    t, v = series(4, 30.0 / DAY, step=300.0)
    for ti, vi in zip(t, v):
        engine.add_points("metrics", [Point("used", (), float(ti), float(vi), GAUGE)])
        engine.evaluate()
    state = next(iter(engine.predictors[0]._targets.values()))
    assert PROPHET in state.rates and PROPHET in state.models
    assert any(PROPHET in scored for scored in state.selector.scored)  # errors at 4 h and 8 h, like the others
    back = loads(dumps(encode(state), "target"), "target")
    assert back.models[PROPHET] == state.models[PROPHET]
