"""An anomaly alert needs the anomaly to last: a blip that is over within the rule's `for:`
(a restart in a deploy) does not fire, a shift that stays (a node losing its packets) does."""
import numpy as np

from foresight.config import parse_config
from foresight.config.alerting import ANOMALY_HOLD
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.severities import NONE, WARNING
from foresight.policy.severity import Policy
from foresight.predictors.anomaly.persistence import away, reference
from foresight.runtime.alert_episodes import AlertReplay
from foresight.runtime.engine import Engine

T0 = 1_767_225_600.0
STEP = 15.0
CONFIG = """
predictors:
  - name: packets
    kind: anomaly
    series: packets_sent_per_second
    resource: packets sent
    policy: {min_history: 0s}
"""
LABELS = (("instance", "store-2:9100"), ("job", "node"))


def test_away_is_measured_from_where_the_series_was_before_the_alarm():
    rng = np.random.default_rng(1)
    before = 1000.0 + rng.normal(0.0, 10.0, 40)
    ref = reference(before)
    assert abs(ref[0] - 1000.0) < 10 and 5 < ref[1] < 20
    assert away(ref, np.array([1001.0, 990.0, 1012.0, 1004.0])) is False
    assert away(ref, np.array([20.0, 25.0, 990.0, 18.0])) is True  # one normal point among fallen ones
    assert away(None, np.array([1.0])) is None and reference(before[:2]) is None
    flat = reference(np.full(40, 50.0))
    assert away(flat, np.full(4, 50.01)) is False and away(flat, np.full(4, 51.0)) is True


def test_the_policy_holds_a_detection_only_while_the_series_stays_away():
    config = parse_config(CONFIG).predictors[0].policy
    policy = Policy(config, scores=True)
    assert policy.decide_score("blip", 0.95, now=0.0) == WARNING
    assert policy.decide_score("blip", 0.0, now=60.0, persisting=False) == NONE
    assert policy.decide_score("shift", 0.95, now=0.0, persisting=True) == WARNING
    assert policy.decide_score("shift", 0.0, now=600.0, persisting=True) == WARNING
    assert policy.decide_score("shift", 0.0, now=config.score_hold + 1, persisting=True) == NONE  # hold is over
    assert policy.decide_score("other", 0.95, now=0.0) == WARNING  # kinds that do not say: held as before
    assert policy.decide_score("other", 0.0, now=60.0, persisting=None) == WARNING


def episodes(values: np.ndarray) -> list:
    config = parse_config(CONFIG)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    times = T0 + STEP * np.arange(values.size)
    for i in range(0, values.size, 4):  # a flush a minute, as the collector sends them
        engine.add_points("metrics", [Point("packets_sent_per_second", LABELS, float(t), float(v), GAUGE)
                                      for t, v in zip(times[i:i + 4], values[i:i + 4])])
        alerts.observe(float(times[min(i + 3, values.size - 1)]), engine.evaluate(), engine.withdrawn)
    return alerts.episodes


def packets(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1000.0 + rng.normal(0.0, 20.0, rows)


def test_a_restart_blip_does_not_fire_but_a_lasting_fall_does():
    blip, fall = packets(1200, 5), packets(1200, 5)
    blip[900:906] *= 0.05  # 90 s of almost nothing sent, then back: a restart
    fall[900:] *= 0.05  # and stays down: the node lost its link
    (fired,) = episodes(fall)
    hold = ANOMALY_HOLD["warning"]  # the rule's `for:`
    assert fired.severity == "warning" and T0 + 900 * STEP + hold <= fired.start <= T0 + 900 * STEP + hold + 300
    assert episodes(blip) == []
