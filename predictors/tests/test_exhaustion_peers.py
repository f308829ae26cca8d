"""A young target at risk is judged against its peers: when every host's headroom shrinks
together (a young fleet's first afternoon peak) none pages; when one host's shrinks alone
(a CPU hog) it pages, young or not; a host that joins late and fills up to where its peers
are (a replacement's rebalance) does not, one that fills on past them does."""
from types import SimpleNamespace

import numpy as np

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.severities import CRITICAL, NONE, WARNING
from foresight.policy.severity import Policy
from foresight.predictors.exhaustion.peers import (LATE, SPREAD_FLOOR, fleet_grew, headroom_ratio, joined_late,
                                                   log_headroom, pattern_unknown, peer_outlier, use_growth)
from foresight.predictors.peers import apart, evenly
from foresight.runtime.alert_episodes import AlertReplay
from foresight.runtime.engine import Engine
from foresight.store import SeriesStore

T0 = 1_767_225_600.0
STEP = 15.0
HOSTS = [f"store-{i}:9100" for i in range(1, 7)]
CONFIG = """
predictors:
  - name: node-cpu
    kind: exhaustion
    series: cpu_idle_ratio
    direction: down
    limit: 0.05
    resource: CPU
    unit: ratio
"""


def test_headroom_is_compared_as_a_ratio_of_then_and_now():
    t = T0 + STEP * np.arange(240)  # an hour
    v = np.linspace(0.85, 0.45, t.size)
    ratio = headroom_ratio(t, v, -1.0, 0.05, T0, float(t[-1]))
    assert 0.58 < ratio < 0.62  # medians of the first and last quarter hour: 0.80 and 0.50
    up = headroom_ratio(t, 100 * v, 1.0, 100.0, T0, float(t[-1]))  # towards an upper limit
    assert 2.4 < up < 2.6  # room grew from 20 to 50
    assert headroom_ratio(t, v, -1.0, 0.05, float(t[-1]) + 60, float(t[-1]) + 60) is None  # no points then
    assert headroom_ratio(t, np.full(t.size, 0.01), -1.0, 0.05, T0, float(t[-1])) is None  # past the limit at first


def test_a_ratio_shrank_more_only_well_below_its_peers():
    def shrank_more(own, peers):
        return apart(own, peers, SPREAD_FLOOR, below_only=True)

    assert shrank_more(0.2, [0.5, 0.45]) is None  # too few peers
    assert shrank_more(0.2, [0.5, 0.45, 0.55, 0.5]) is True
    assert shrank_more(0.4, [0.5, 0.45, 0.55, 0.5]) is False  # within the spread floor of theirs
    assert shrank_more(0.2, [0.2, 0.25, 0.3, 0.9]) is False  # the fleet moved alike
    assert shrank_more(0.9, [0.2, 0.25, 0.3, 0.2]) is False  # more room than its peers: only below counts
    assert apart(0.9, [0.2, 0.25, 0.3, 0.2], SPREAD_FLOOR) is True  # either side, where both count
    assert evenly(list(range(10)), 4) == [0, 2, 5, 7] and evenly([1, 2], 4) == [1, 2]


def test_the_policy_holds_back_a_young_target_only_when_its_peers_moved_alike():
    config = parse_config(CONFIG).predictors[0].policy
    imminent = {config.critical_within: 0.99, config.warning_within: 0.99, config.info_within: 0.99}
    young = config.first_alert_after + 3600
    assert Policy(config).decide("a", imminent, young, peer_outlier=False) == NONE
    assert Policy(config).decide("a", imminent, young, peer_outlier=True) == CRITICAL
    assert Policy(config).decide("a", imminent, young, peer_outlier=None) == CRITICAL  # not judged: as before
    # Not imminent: a young target may warn only once it has stood apart from its peers for
    # `apart_warning_after` (30 min) without a break.
    within_hours = {config.critical_within: 0.1, config.warning_within: 0.9, config.info_within: 0.99}
    policy, hold = Policy(config), config.apart_warning_after

    def level(minutes, peer_outlier=True, probability=within_hours, history=young):
        return policy.decide("a", probability, history + 60 * minutes, peer_outlier=peer_outlier, now=60.0 * minutes)
    assert hold == 1800.0
    assert [level(m) for m in (0, 10, 29)] == [NONE] * 3
    assert level(30) == WARNING and level(31) == WARNING
    assert level(32, peer_outlier=None) == NONE  # no longer judged apart: the hold starts again
    assert [level(m) for m in (33, 62)] == [NONE, NONE] and level(63) == WARNING
    assert level(64, peer_outlier=False) == NONE and level(65) == NONE
    assert level(100, probability={config.info_within: 0.99}) == NONE  # apart 35 min, but only info: young
    assert policy.decide("b", within_hours, young, peer_outlier=True) == NONE  # no event time: no hold kept
    for never in (dict(peer_outlier=None), dict(peer_outlier=False)):
        assert [Policy(config).decide("c", within_hours, young, now=t, **never) for t in (0.0, 3600.0)] == [NONE] * 2
    off = Policy(parse_config(CONFIG.replace("    unit: ratio\n", "    unit: ratio\n    policy: {apart_warning_after: 50h}\n"))
                 .predictors[0].policy)
    assert [off.decide("a", within_hours, young, peer_outlier=True, now=t) for t in (0.0, 7200.0)] == [NONE] * 2
    first = Policy(config)  # nothing at all in its first hour, however long apart
    assert [first.decide("a", within_hours, 60.0 * m, peer_outlier=True, now=60.0 * m) for m in (0, 40, 59)] == [NONE] * 3
    mature = config.min_history + 3600
    assert Policy(config).decide("a", imminent, mature) == CRITICAL  # not judged: its daily pattern speaks
    # Judged only while its daily pattern is not known (no profile yet): its peers moved alike.
    assert Policy(config).decide("a", imminent, mature, peer_outlier=False) == NONE
    assert Policy(config).decide("a", {config.warning_within: 0.99}, mature, peer_outlier=True) == WARNING
    # One that has reached its limit before (a CPU spiking to it in a deploy) may warn, but
    # not when its peers moved alike.
    assert Policy(config).decide("a", imminent, young, failures_seen=1, peer_outlier=None) == CRITICAL
    assert Policy(config).decide("a", {config.warning_within: 0.99}, young, failures_seen=1) == WARNING
    assert Policy(config).decide("a", imminent, young, failures_seen=1, peer_outlier=False) == NONE


def fleet(idle) -> np.ndarray:
    """Per-host CPU idle over 12 h at 15 s: (hosts, points), each with its own noise."""
    rng = np.random.default_rng(7)
    hours = np.arange(12 * 240) * STEP / 3600
    return np.array([idle(h, hours) + rng.normal(0.0, 0.02, hours.size) for h in range(len(HOSTS))])


def pages(values: np.ndarray, severities=("critical",)) -> list:
    """Episodes (critical by default) of the fleet's series replayed through Engine, a flush a minute."""
    config = parse_config(CONFIG)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    times = T0 + STEP * np.arange(values.shape[1])
    for i in range(0, times.size, 4):
        engine.add_points("metrics", [Point("cpu_idle_ratio", (("instance", host), ("job", "node")), float(t), float(v), GAUGE)
                                      for k, host in enumerate(HOSTS)
                                      for t, v in zip(times[i:i + 4], values[k, i:i + 4])])
        alerts.observe(float(times[min(i + 3, times.size - 1)]), engine.evaluate(), engine.withdrawn)
    return [e for e in alerts.episodes if e.severity in severities]


def afternoon(hours):
    """Idle 0.75 all morning, then falling ever faster from hour 6 (the day's load climbing):
    0.17 at hour 12, on the way to a peak a young target cannot know about."""
    return 0.75 - 0.016 * np.clip(hours - 6.0, 0.0, None) ** 2


def test_a_young_fleet_whose_cpu_climbs_together_does_not_page():
    episodes = pages(fleet(lambda host, hours: afternoon(hours)), severities=("critical", "warning"))
    assert episodes == []  # nor warns


def test_one_young_host_whose_cpu_climbs_alone_pages():
    episodes = pages(fleet(lambda host, hours: afternoon(hours) if host == 2 else np.full(hours.size, 0.75)))
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[2]}


def settled_fleet(climber: bool) -> np.ndarray:
    """CPU idle over 12 h: each host is idle (0.95) for its first 20 minutes, then carries
    its share of the load at its own level (idle 0.4-0.85: the hosts of one service carry
    unequal shares, as JVMs' heaps after collection read 0 until the first collection and
    then each its own live set). With `climber`, host 2 then loses 0.1 of idle an hour from
    hour 5: at the limit (0.05) at hour 11.5."""
    levels = [0.75, 0.55, 0.7, 0.4, 0.85, 0.6]

    def idle(host, hours):
        settled = np.where(hours < 1 / 3, 0.95, levels[host])
        if climber and host == 2:
            settled = settled - 0.1 * np.clip(hours - 5, 0, None)
        return np.maximum(settled, 0.0)
    return fleet(idle)


def test_hosts_that_settle_at_their_own_levels_do_not_page():
    assert pages(settled_fleet(climber=False)) == []


def test_a_host_that_climbs_alone_hours_after_the_fleet_settled_pages():
    """Judged over the last lookback, not since it was first seen: since then every host's
    headroom shrank by its own settling, so far apart that no climb would stand out."""
    episodes = pages(settled_fleet(climber=True))
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[2]}
    assert min(e.start for e in episodes) < T0 + 11.5 * 3600 - 20 * 60


def test_peers_first_seen_after_the_window_began_are_left_out():
    """A rollout starts new pods within the lookback the shrinking is measured over: their
    heaps after collection read 0 at first, then their own live sets, so their headroom
    shrank by their own start-up. They are no peers for that window; older replicas are."""
    t = T0 + 60.0 * np.arange(8 * 60)
    now, since = float(t[-1]), float(t[-1]) - 7200.0
    store, points = SeriesStore(lambda metric, labels: True), []

    def heap(pod, times, values):
        labels = (("instance", pod), ("job", "orders"))
        points.extend(Point("after_gc", labels, float(ti), float(vi), GAUGE) for ti, vi in zip(times, values))
        return ("after_gc", labels)

    climbing = heap("orders-0", t, 0.4 + 0.25 * np.clip((t - since) / 7200.0, 0.0, 1.0))  # 0.4 -> 0.65 in the window
    for i in range(1, 4):
        heap(f"orders-{i}", t, np.full(t.size, 0.3 + 0.05 * i))
    new = t[t >= since + 300.0]  # four new pods 5 minutes into the window: 0, then 0.3-0.6 after 10 minutes
    for i in range(4):
        heap(f"orders-new-{i}", new, np.where(new < new[0] + 600.0, 0.0, 0.3 + 0.1 * i))
    store.add_points(points)
    pairs = sorted(store.windows.items())
    assert peer_outlier(climbing, store.windows[climbing], pairs, lambda key: 1.0, 1.0, since, now) is True
    # One of the new pods, judged from its own start, has the pods of its rollout as peers.
    newcomer = ("after_gc", (("instance", "orders-new-3"), ("job", "orders")))
    assert peer_outlier(newcomer, store.windows[newcomer], pairs, lambda key: 1.0, 1.0, float(new[0]), now) is False


def test_peer_outlier_reads_the_store_and_skips_peers_without_a_limit():
    store = SeriesStore(lambda metric, labels: True)
    values = fleet(lambda host, hours: afternoon(hours) if host == 0 else np.full(hours.size, 0.75))
    times = T0 + STEP * np.arange(values.shape[1])
    store.add_points([Point("cpu_idle_ratio", (("instance", host),), float(t), float(v), GAUGE)
                      for k, host in enumerate(HOSTS) for t, v in zip(times, values[k])])
    pairs = sorted(store.matching(parse_config(CONFIG).predictors[0].series))
    keys = [key for key, _ in pairs]
    now = float(times[-1])
    windows = dict(pairs)
    assert peer_outlier(keys[0], windows[keys[0]], pairs, lambda key: 0.05, -1.0, T0, now) is True
    assert peer_outlier(keys[1], windows[keys[1]], pairs, lambda key: 0.05, -1.0, T0, now) is False
    only_two = {keys[0], keys[1], keys[2]}  # the others have no limit: not peers
    assert peer_outlier(keys[0], windows[keys[0]], pairs, lambda key: 0.05 if key in only_two else None,
                        -1.0, T0, now) is None
    assert peer_outlier(keys[0], None, pairs, lambda key: 0.05, -1.0, T0, now) is None  # no window of its own


FS_CONFIG = """
predictors:
  - name: node-filesystem
    kind: exhaustion
    series: node_filesystem_avail_bytes
    direction: down
    limit: 0
    resource: filesystem
    unit: bytes
"""
SIZE = 1e12


def test_log_headroom_is_of_the_last_quarter_hour():
    t = T0 + STEP * np.arange(240)
    v = np.where(t < t[-1] - 900, 0.8, 0.4) * SIZE
    assert abs(log_headroom(t, v, -1.0, 0.0, float(t[-1])) - np.log(0.4 * SIZE)) < 1e-9
    assert log_headroom(t, v, -1.0, 0.5 * SIZE, float(t[-1])) == np.log(1e-12)  # past its limit: the least there is
    assert log_headroom(t, v, -1.0, 0.0, float(t[-1]) + 2000) is None


def test_a_daily_pattern_is_unknown_until_min_history_and_a_profile():
    policy = parse_config(CONFIG).predictors[0].policy
    assert policy.peer_history == 49 * 3600.0  # two days for a profile, and its hourly refit

    def unknown(hours, profile_days, policy=policy):
        return pattern_unknown(SimpleNamespace(history_seconds=hours * 3600.0, daily_profile_days=profile_days), policy)
    assert unknown(30, 0) and unknown(30, 2)  # younger than min_history (36 h)
    assert unknown(40, 0) and not unknown(40, 2)  # no profile before two days: the second afternoon is unknown
    assert unknown(48.5, 0) and not unknown(49.1, 0)  # none came by then: no daily pattern to wait for
    only_young = parse_config(CONFIG.replace("    unit: ratio\n", "    unit: ratio\n    policy: {peer_history: 0s}\n"))
    assert not unknown(40, 0, only_young.predictors[0].policy) and unknown(30, 0, only_young.predictors[0].policy)


def test_a_target_joined_late_when_first_seen_over_an_hour_after_most():
    assert joined_late(3600.0, 5 * 3600.0)
    assert not joined_late(5 * 3600.0 - LATE + 60, 5 * 3600.0)  # a fleet starting within the hour


def replay_pages(free_at, hosts=HOSTS, hours=8, severities=("critical",)) -> list:
    """Episodes (critical by default) of each host's available bytes, `free_at(host index,
    hour)` (None before the host is there), replayed a flush a minute."""
    config = parse_config(FS_CONFIG)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    rng = np.random.default_rng(3)
    times = T0 + STEP * np.arange(hours * 240)
    for i in range(0, times.size, 4):
        batch = times[i:i + 4]
        points = [Point("node_filesystem_avail_bytes", (("instance", host),), float(t),
                        float(free + rng.normal(0, 1e-4 * SIZE)), GAUGE)
                  for k, host in enumerate(hosts) for t in batch
                  if (free := free_at(k, (t - T0) / 3600)) is not None]
        engine.add_points("metrics", points)
        alerts.observe(float(batch[-1]), engine.evaluate(), engine.withdrawn)
    return [e for e in alerts.episodes if e.severity in severities]


def test_a_young_host_whose_disk_fills_apart_from_its_peers_warns_hours_before_it_pages():
    """Young hosts may page only on an imminent crossing; one whose disk fills while its
    peers' hold (a runaway log, from hour 2, full at hour 8) is no fleet's load, so it
    warns as soon as it is apart and at risk within `warning_within`, hours ahead."""
    free = [0.45, 0.52, 0.6, 0.68, 0.75, 0.6]

    def free_at(k, hour):
        if k == 5:
            return max(0.6 - 0.1 * max(hour - 2.0, 0.0), 0.0) * SIZE
        return (free[k] - 0.002 * hour) * SIZE
    episodes = replay_pages(free_at, hours=9, severities=("critical", "warning"))
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[5]}
    warnings = [e.start for e in episodes if e.severity == "warning"]
    assert warnings and min(warnings) < T0 + 6 * 3600  # two hours or more before it is full
    assert min(e.start for e in episodes if e.severity == "critical") > T0 + 6.5 * 3600  # paged only when imminent


def filesystem_pages(newcomer) -> list:
    """Six hosts over 8 h: five old ones (45-75% free, filling slowly) and one that joins at
    hour 4 with its disk 95% free and fills as `newcomer(minutes since it joined)` (a share
    of the disk's size) says."""
    free = [0.45, 0.52, 0.6, 0.68, 0.75]

    def free_at(k, hour):
        if k < 5:
            return (free[k] - 0.002 * hour) * SIZE
        return None if hour < 4 else newcomer((hour - 4) * 60) * SIZE
    return replay_pages(free_at)


def test_two_hosts_of_a_young_fleet_of_mixed_sizes_that_fill_together_page():
    # Disks of 0.5, 1 and 2 TB, 60% free; hosts 0 and 3 fill from hour 4 and are full at hour 7.
    sizes = [0.5, 1.0, 2.0, 0.5, 1.0, 2.0]

    def free_at(k, hour):
        share = 0.6 - (0.6 * np.clip((hour - 4) / 3, 0, 1) if k in (0, 3) else 0.002 * hour)
        return share * sizes[k] * SIZE
    episodes = replay_pages(free_at)
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[0], HOSTS[3]}
    assert all(min(e.start for e in episodes if e.labels["service_instance"] == host) < T0 + 6.5 * 3600
               for host in (HOSTS[0], HOSTS[3]))  # at least half an hour before they are full


def test_a_replacement_that_fills_up_to_its_peers_level_does_not_page():
    # A rebalance: from 95% free to 55% in 45 min (on its own, it would be full in 1.8 h), then flat.
    episodes = filesystem_pages(lambda minutes: 0.95 - 0.4 * min(minutes, 45.0) / 45.0)
    assert episodes == []


def test_a_newcomer_that_fills_on_past_its_peers_pages_before_it_is_full():
    minutes_to_full = 0.95 / (0.4 / 45.0)  # the same rate, never levelling: full 107 min after joining
    episodes = filesystem_pages(lambda minutes: max(0.95 - 0.4 * minutes / 45.0, 0.0))
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[5]}
    assert min(e.start for e in episodes) < T0 + 4 * 3600 + 60 * (minutes_to_full - 10)


def two_days_of(idle, seed: int) -> list:
    """Alert episodes (every severity) of a fleet whose CPU idle is `idle(t, host index)`,
    replayed through Engine a point a minute for 46 h (starting at midnight UTC)."""
    config = parse_config(CONFIG)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    rng = np.random.default_rng(seed)
    for t in T0 + 60.0 * np.arange(46 * 60):
        t = float(t)
        engine.add_points("metrics", [Point("cpu_idle_ratio", (("instance", host), ("job", "node")), t,
                                            idle(t, k) + rng.normal(0.0, 0.01), GAUGE) for k, host in enumerate(HOSTS)])
        alerts.observe(t, engine.evaluate(), engine.withdrawn)
    return alerts.episodes


def afternoons(depth: float, t: float) -> float:
    """Idle 0.8 at night, dipping by `depth` at 16:00 UTC (a sine from 10:00 to 22:00)."""
    hour = (t - T0) / 3600 % 24
    return 0.8 - depth * max(0.0, np.sin(np.pi * (hour - 10) / 12)) if 10 <= hour <= 22 else 0.8


def test_a_fleet_s_second_afternoon_does_not_warn_before_its_daily_profile():
    """36 h in, a target is no longer young, but its daily profile needs two whole days: the
    second afternoon's climb (idle falling towards its limit, as on the first) is judged
    against the peers, which climb alike."""
    episodes = two_days_of(lambda t, host: afternoons(0.68, t), seed=11)  # down to 0.12
    assert [(e.severity, round((e.start - T0) / 3600, 1)) for e in episodes] == []


def test_a_host_whose_cpu_climbs_alone_on_its_second_day_pages():
    """Between its first day and its daily profile, a runaway process's climb on one host
    stands out from its peers' second afternoon: it pages before the host is saturated."""
    def idle(t, host):  # from 33 h (09:00 UTC) store-3 loses 0.35 of idle an hour, on top of the day's climb
        return afternoons(0.55, t) - (0.35 * max(0.0, t - T0 - 33 * 3600) / 3600 if host == 2 else 0.0)
    saturated = next(t for t in T0 + 60.0 * np.arange(46 * 60) if idle(t, 2) <= 0.05)  # at about 34.8 h
    episodes = two_days_of(lambda t, host: max(idle(t, host), 0.0), seed=13)
    assert {e.labels["service_instance"] for e in episodes} == {HOSTS[2]}
    assert min(e.start for e in episodes if e.severity == "critical") < saturated - 20 * 60


def test_peers_are_the_replicas_of_the_same_service_when_it_has_enough():
    """One predictor on two services' heaps: `search` pods settle far higher than `orders`
    pods. An orders pod that leaks to where search pods sit shrank as much as half the
    predictor's targets, but clearly more than the other orders replicas: those judge it."""
    from foresight.predictors.peers import others

    t = T0 + STEP * np.arange(240)
    store = SeriesStore(lambda metric, labels: True)
    points = []

    def heap(job, pod, end_share):
        labels = (("instance", pod), ("job", job))
        points.extend(Point("after_gc", labels, float(ti), float(vi), GAUGE)
                      for ti, vi in zip(t, np.linspace(0.2, end_share, t.size)))
        return ("after_gc", labels)

    leaking = heap("orders", "orders-0", 0.85)
    for i in range(1, 5):
        heap("orders", f"orders-{i}", 0.35 + 0.02 * i)
    for i in range(5):
        heap("search", f"search-{i}", 0.8 + 0.02 * i)
    store.add_points(points)
    pairs = sorted(store.windows.items())
    assert {dict(k[1])["job"] for k, _ in others(pairs, leaking)} == {"orders"}
    judged = peer_outlier(leaking, store.windows[leaking], pairs, lambda key: 1.0, 1.0, T0, float(t[-1]))
    assert judged is True
    # With fewer than MIN_PEERS replicas of its own service, the predictor's other targets judge.
    lone = heap("billing", "billing-0", 0.85)
    store.add_points(points[-t.size:])
    pairs = sorted(store.windows.items())
    assert len({dict(k[1])["job"] for k, _ in others(pairs, lone)}) == 2
    assert peer_outlier(lone, store.windows[lone], pairs, lambda key: 1.0, 1.0, T0, float(t[-1])) is False


def test_pods_that_went_away_are_no_peers():
    """A rolling update leaves the replaced pods' windows in the store for a while. They
    are no peers and do not count towards MIN_PEERS: a new orders pod with two live
    replicas and three replaced ones is judged against the predictor's live series (here
    all warming up alike, so not apart), not left unjudged for want of live replicas."""
    from foresight.predictors.peers import live, others

    t = T0 + STEP * np.arange(240)
    store = SeriesStore(lambda metric, labels: True)
    series = {}

    def heap(job, pod, end_share, until=t.size):
        labels = (("instance", pod), ("job", job))
        series[("after_gc", labels)] = np.linspace(0.2, end_share, t.size)[:until]
        return ("after_gc", labels)

    young = heap("orders", "orders-new", 0.62)
    for i in range(2):
        heap("orders", f"orders-{i}", 0.6 + 0.02 * i)
    replaced = [heap("orders", f"orders-old-{i}", 0.6, until=60) for i in range(3)]
    for i in range(4):
        heap("search", f"search-{i}", 0.58 + 0.02 * i)
    skewed = heap("search", "search-4", 0.6)  # its host's clock runs 30 minutes behind
    for k in range(0, t.size, 4):  # a minute's scrapes at a time, as the stream brings them
        store.add_points([Point(key[0], key[1], float(ti) - (1800.0 if key == skewed else 0.0), float(vi), GAUGE)
                          for key, values in series.items() for ti, vi in zip(t[k:k + 4], values[k:k + 4])])
    every = sorted(store.windows.items())
    assert {dict(k[1])["job"] for k, _ in others(every, young)} == {"orders"}  # the replaced pods counted
    assert peer_outlier(young, store.windows[young], every, lambda key: 1.0, 1.0, T0, float(t[-1])) is None
    pairs = live(store, every)
    assert not set(replaced) & {k for k, _ in pairs}
    assert skewed in {k for k, _ in pairs}  # quiet is measured by arrival, not by its own clock
    assert {dict(k[1])["job"] for k, _ in others(pairs, young)} == {"orders", "search"}  # two live replicas are too few
    assert peer_outlier(young, store.windows[young], pairs, lambda key: 1.0, 1.0, T0, float(t[-1])) is False


CONNTRACK_CONFIG = """
predictors:
  - name: node-conntrack
    kind: exhaustion
    series: node_nf_conntrack_entries
    limit: 262144
    resource: connection tracking table
"""
SHARES = [0.74, 0.35, 0.45, 0.5, 0.55, 0.4]  # of the table, before the day's climb


def conntrack_pages(leak_host: int | None, leak_rate: float = 0.17, leak_from: float = 7.0,
                    climb: float = 0.012) -> set:
    """Hosts paged over 10 h of tracked connections: each host's share of the table times the
    day's traffic (flat, then from hour 5 climbing to 1 + 25 `climb` at hour 10: 1.3x by
    default), with noise; the `leak_host` also leaks `leak_rate` of the table an hour from
    hour `leak_from`."""
    config = parse_config(CONNTRACK_CONFIG)
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    rng = np.random.default_rng(11)
    times = T0 + STEP * np.arange(10 * 240)
    hours = (times - T0) / 3600
    traffic = 1.0 + climb * np.clip(hours - 5.0, 0.0, None) ** 2
    use = np.array([share * traffic + (leak_rate * np.clip(hours - leak_from, 0.0, None) if k == leak_host else 0.0)
                    for k, share in enumerate(SHARES)])
    use = np.minimum(use * (1.0 + rng.normal(0.0, 0.005, use.shape)), 0.999) * 262144
    for i in range(0, times.size, 4):
        engine.add_points("metrics", [Point("node_nf_conntrack_entries", (("instance", host), ("job", "node")),
                                            float(t), float(v), GAUGE)
                                      for k, host in enumerate(HOSTS) for t, v in zip(times[i:i + 4], use[k, i:i + 4])])
        alerts.observe(float(times[min(i + 3, times.size - 1)]), engine.evaluate(), engine.withdrawn)
    return {e.labels["service_instance"] for e in alerts.episodes if e.severity == "critical"}


def test_the_busiest_host_of_a_fleet_whose_load_multiplies_every_host_s_use_does_not_page():
    """The day's first climb multiplies every host's tracked connections alike. The busiest
    host, at 74% of its table before it, ends at 96%: its headroom shrinks to a sixth while
    its peers' shrink by a fifth or less, but its use grew as theirs did. No page; before
    use growth was compared, it paged."""
    assert conntrack_pages(None) == set()


def test_a_host_whose_connections_leak_on_top_of_the_day_s_climb_pages():
    assert conntrack_pages(leak_host=2) == {HOSTS[2]}


def test_a_busy_host_that_leaks_slowly_in_a_steady_fleet_pages():
    """No climb: the fleet's use holds. The busiest host leaks 5% of its table an hour from
    hour 5 and fills it by hour 10; over its last two hours its use grows by less than a
    tenth, too little to stand apart from its peers' growth, but most of its headroom goes.
    The headroom decides when the fleet's use did not grow."""
    assert conntrack_pages(leak_host=0, leak_rate=0.05, leak_from=5.0, climb=0.0) == {HOSTS[0]}


def test_use_growth_is_a_log_ratio_of_then_and_now():
    t = T0 + STEP * np.arange(480)  # two hours
    v = np.linspace(100.0, 200.0, t.size)
    assert abs(use_growth(t, v, T0, float(t[-1])) - np.log(193.84 / 106.16)) < 0.001  # the quarter hours' medians
    assert use_growth(t, np.zeros(t.size), T0, float(t[-1])) is None  # no use at first
    assert use_growth(t, v, float(t[-1]) + 60, float(t[-1]) + 60) is None  # no points then


def test_the_fleet_grew_when_its_median_use_growth_is_clearly_above_zero():
    assert fleet_grew([0.08, 0.09, 0.1, -0.2])
    assert not fleet_grew([0.01, 0.02, 0.5, 0.6, -0.1])  # the median peer held
    assert not fleet_grew([0.3, 0.3])  # too few peers


def test_how_long_a_young_target_stood_apart_survives_a_handover():
    """The hold's start is part of the policy's state: a replica that takes the target over
    (or a restart) does not begin the half hour again."""
    from foresight.runtime.engine_state import export_rows, import_rows

    config = parse_config(CONFIG)
    key = ("node-cpu", (("instance", HOSTS[0]),))
    first = Engine(config)
    within_hours = {first.policies["node-cpu"].config.warning_within: 0.9}
    young = 2 * 3600.0
    assert first.policies["node-cpu"].decide(key, within_hours, young, peer_outlier=True, now=T0) == NONE
    second = Engine(config)
    import_rows(second, export_rows(first))
    assert second.policies["node-cpu"].decide(key, within_hours, young, peer_outlier=True, now=T0 + 1800) == WARNING
    assert Engine(config).policies["node-cpu"].decide(key, within_hours, young, peer_outlier=True,
                                                      now=T0 + 1800) == NONE  # without the state: starts again
