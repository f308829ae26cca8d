"""A young anomaly target (watched less than `policy.min_history`) alerts on a lasting move
of its own: one host's packets falling while its peers' do not. The same fall on every host
at once (the fleet's traffic) does not alert, nor does a lone host with too few peers.

At any age, an alarm that most of a target's peers raised within the same hour is the
fleet's (a batch job on every host, a rolling deploy) and does not alert; a fall on one
or two hosts of six still does."""
import numpy as np

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.severities import NONE, WARNING
from foresight.policy.severity import Policy
from foresight.predictors.anomaly.persistence import alarmed_together, level_change
from foresight.runtime.alert_episodes import AlertReplay
from foresight.runtime.engine import Engine

T0 = 1_767_225_600.0
STEP = 15.0
ROWS = 1200  # 5 h: far younger than min_history (36 h)
FALL = 900  # the row the fall starts at
CONFIG = """
predictors:
  - name: packets
    kind: anomaly
    series: packets_sent_per_second
    resource: packets sent
"""
MATURE = CONFIG + "    policy: {min_history: 0s}\n"  # every target's daily pattern taken as known


def fleet(falls: set, hosts: int = 6, stagger: int = 0, rows: int | None = None) -> dict:
    """Packets sent per second per host; the hosts in `falls` lose 95% of them at FALL (the
    k-th of them `stagger` rows after the one before), for good or for `rows` rows."""
    rng = np.random.default_rng(11)
    series = {}
    for h in range(hosts):
        values = 1000.0 * (1 + 0.2 * h) + rng.normal(0.0, 20.0, ROWS)
        if h in falls:
            begin = FALL + stagger * sorted(falls).index(h)
            values[begin:None if rows is None else begin + rows] *= 0.05
        series[f"store-{h + 1}:9100"] = values
    return series


def episodes(series: dict, text: str = CONFIG) -> list:
    config = parse_config(text)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    times = T0 + STEP * np.arange(ROWS)
    for i in range(0, ROWS, 4):  # a flush a minute
        engine.add_points("metrics", [Point("packets_sent_per_second", (("instance", host), ("job", "node")), float(t), float(v), GAUGE)
                                      for host, values in series.items()
                                      for t, v in zip(times[i:i + 4], values[i:i + 4]) if not np.isnan(v)])
        alerts.observe(float(times[min(i + 3, ROWS - 1)]), engine.evaluate(), engine.withdrawn)
    return alerts.episodes


def test_one_young_host_that_stops_sending_alerts():
    fired = episodes(fleet({2}))
    assert {e.labels["service_instance"] for e in fired} == {"store-3:9100"}
    assert all(e.severity == "warning" and T0 + FALL * STEP <= e.start <= T0 + FALL * STEP + 900 for e in fired)


def test_the_same_fall_on_every_young_host_does_not_alert():
    assert episodes(fleet(set(range(6)))) == []


def test_a_young_host_without_enough_peers_does_not_alert():
    assert episodes(fleet({0}, hosts=3)) == []  # two peers: not judged, young targets stay silent


def test_one_or_two_mature_hosts_that_stop_sending_alert():
    for falls in ({2}, {1, 4}):
        fired = episodes(fleet(falls), MATURE)
        assert {e.labels["service_instance"] for e in fired} == {f"store-{h + 1}:9100" for h in falls}


def test_a_batch_job_on_every_mature_host_does_not_alert():
    assert episodes(fleet(set(range(6)), rows=120), MATURE) == []  # 30 minutes, all hosts at once


def test_fleet_share_zero_lets_a_batch_job_on_every_mature_host_alert():
    fired = episodes(fleet(set(range(6)), rows=120), MATURE.replace("min_history: 0s", "min_history: 0s, fleet_share: 0"))
    assert len({e.labels["service_instance"] for e in fired}) == 6


def test_a_rolling_deploy_alerts_at_most_on_its_first_two_hosts():
    # Each host's packets fall for 20 minutes, one host every 4 minutes. A host's alarm is
    # the fleet's once half its peers have alarmed too; the first two hosts fire before that.
    fired = episodes(fleet(set(range(6)), stagger=16, rows=80), MATURE)
    assert {e.labels["service_instance"] for e in fired} <= {"store-1:9100", "store-2:9100"}


def test_the_policy_lets_a_young_target_alert_only_on_a_move_of_its_own():
    config = parse_config(CONFIG).predictors[0].policy
    young = 3600.0
    assert Policy(config, scores=True).decide_score("a", 0.95, 0.0, young, persisting=True) == NONE
    assert Policy(config, scores=True).decide_score("a", 0.95, 0.0, young, True, peer_outlier=False) == NONE
    assert Policy(config, scores=True).decide_score("a", 0.95, 0.0, young, True, peer_outlier=True) == WARNING
    mature = 2 * config.min_history
    assert Policy(config, scores=True).decide_score("a", 0.95, 0.0, mature, persisting=True) == WARNING
    assert Policy(config, scores=True).decide_score("a", 0.95, 0.0, mature, True, peer_outlier=False) == NONE


def test_level_change_is_a_log_ratio_from_the_reference_span():
    t = T0 + STEP * np.arange(100)
    v = np.where(np.arange(100) < 50, 200.0, 100.0)
    assert abs(level_change(t, v, (T0, T0 + 40 * STEP)) - np.log(0.5)) < 1e-9
    assert level_change(t, np.zeros(100), (T0, T0 + 40 * STEP)) is None  # no level then
    assert level_change(t, v, (T0 - 600, T0 - 60)) is None  # no points then
    assert level_change(t, np.where(np.arange(100) < 50, 200.0, 0.0), (T0, T0 + 40 * STEP)) == np.log(1e-3)


def test_peers_alarms_within_an_hour_either_side_are_the_same_event():
    t, never = T0 + 86400.0, float("-inf")
    assert alarmed_together([t - 3500, t + 3500, never], t, 0.5) is True  # 2 of 3
    assert alarmed_together([t - 3700, t + 3700, t], t, 0.5) is False  # 1 of 3
    assert alarmed_together([t, t], t, 0.5) is None  # too few peers to say
    assert alarmed_together([t, t, t], t, 0.0) is None  # turned off


def test_hosts_that_went_away_do_not_dilute_a_fleet_wide_alarm():
    """Five hosts replaced early on (their windows still in the store, NaN: nothing sent)
    are no peers: the batch job on the four live mature hosts is still the fleet's."""
    series = fleet({0, 1, 2, 3}, hosts=4)
    for h in range(5):
        gone = np.full(ROWS, np.nan)
        gone[:300] = 1000.0
        series[f"old-{h}:9100"] = gone
    assert episodes(series, MATURE) == []
