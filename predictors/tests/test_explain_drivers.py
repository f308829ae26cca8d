"""Drivers: which series moved first, by how much and since when, in plain words."""
import math
from collections import Counter

import numpy as np
import pytest

from foresight.explain.drivers import DriverSettings, clock, rank_drivers
from foresight.explain.statistics import change_point

NOW = 1_700_056_800.0  # 14:00 UTC
N = 180  # 3 h of 1-min samples ending at NOW
T = NOW - 60.0 * np.arange(N)[::-1]


def _ar1(rng, n, phi=0.9):
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + rng.normal()
    return x


def _lagged_pair(seed, lag=10, noise=0.3):
    """A driver (AR(1) around 100) and a target that follows it `lag` minutes later."""
    rng = np.random.default_rng(seed)
    walk = _ar1(rng, N + lag)
    driver = 100 + 10 * walk[lag:]
    target = 5 + 0.3 * walk[:N] + rng.normal(0, noise, N)  # target[i] follows driver[i - lag]
    return driver, target, rng


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_driver_leading_by_ten_minutes_is_found_with_about_the_true_correlation(seed):
    driver, target, rng = _lagged_pair(seed)
    noise = 50 + rng.normal(0, 1, N)
    drivers = rank_drivers("db latency", (T, target), {"noise": (T, noise), "request rate": (T, driver)}, NOW)
    assert [d.name for d in drivers] == ["request rate", "noise"]
    best = drivers[0]
    assert best.significant and abs(best.lead_seconds - 600) <= 120
    window = T > NOW - 7200  # the 2 h the ranking looks at, at the true lag
    truth = np.corrcoef(target[window][10:], driver[window][:-10])[0, 1]
    assert best.correlation == pytest.approx(truth, abs=0.1)
    assert f"r={best.correlation:.2f}" in best.text and "leading by" in best.text
    assert f"{best.lead_seconds / 60:.0f} min" in best.text
    assert not drivers[1].significant and "leading" not in drivers[1].text


def test_a_series_that_follows_the_target_is_not_called_leading():
    driver, target, _ = _lagged_pair(8)
    follower = rank_drivers("request rate", (T, driver), {"db latency": (T, target)}, NOW)[0]
    assert "leading by 10 min" not in follower.text
    assert follower.lead_seconds < 300 or not follower.significant


def test_a_driver_at_lag_zero_is_moving_with_not_leading():
    driver, target, _ = _lagged_pair(4, lag=0)
    best = rank_drivers("db latency", (T, target), {"request rate": (T, driver)}, NOW)[0]
    assert best.significant and best.lead_seconds == 0
    assert "moving with it" in best.text and "leading" not in best.text


def test_a_step_in_the_driver_is_reported_with_its_size_and_start():
    rng = np.random.default_rng(5)
    start = NOW - 3600  # 13:00 UTC
    requests = np.where(T >= start, 140.0, 100.0) + rng.normal(0, 3, N)
    latency = np.where(T >= start + 600, 0.3, 0.1) + rng.normal(0, 0.01, N)
    pool = 0.5 + rng.normal(0, 0.02, N)
    drivers = rank_drivers("db latency", (T, latency), {"request rate": (T, requests), "pool": (T, pool)},
                           NOW, attributions={"request rate": 0.6, "pool": 0.01})
    best = drivers[0]
    assert best.name == "request rate"
    assert best.since == start and best.change_ratio == pytest.approx(0.4, abs=0.05)
    assert best.text.startswith("request rate +4")  # +39% .. +41%
    assert "since 13:00" in best.text and "60% of the anomaly" in best.text
    assert "leading by 10 min" in best.text
    notable = [d.text for d in drivers if d.notable]
    assert notable == [best.text]  # the pool is neither correlated, changed, nor a real share


def test_noise_is_not_notable():
    rng = np.random.default_rng(6)
    drivers = rank_drivers("db latency", (T, rng.normal(size=N)), {"noise": (T, rng.normal(size=N))}, NOW)
    assert [d.name for d in drivers] == ["noise"] and not drivers[0].notable


def test_change_point_finds_a_level_shift():
    values = np.r_[np.full(60, 10.0), np.full(40, 14.0)] + np.random.default_rng(0).normal(0, 0.5, 100)
    start, before, after, stat, effect = change_point(values, min_segment=10)
    assert start == 60 and before == pytest.approx(10, abs=0.3) and after == pytest.approx(14, abs=0.3)
    assert stat > 20 and effect > 5


def test_bad_input_is_counted_not_raised():
    driver, target, _ = _lagged_pair(7)
    counts = Counter()
    holey = driver.copy()
    holey[::10] = np.nan
    shuffled = np.random.default_rng(0).permutation(N)
    candidates = {
        "mismatched": (T, driver[:-5]),
        "holey": (T, holey),
        "shuffled": (T[shuffled], driver[shuffled]),
        "short": (T[-5:], driver[-5:]),
        "garbage": "not a series",
    }
    drivers = rank_drivers("db latency", (T, target), candidates, NOW, counts=counts)
    assert sorted(d.name for d in drivers) == ["holey", "shuffled"]
    assert all(d.significant for d in drivers)
    assert counts == Counter({"mismatched lengths": 1, "non-finite samples": N // 10, "unsorted series": 1,
                              "too little driver data": 1, "unreadable series": 1})
    assert rank_drivers("db latency", (T, target[:3]), {"x": (T, driver)}, NOW, counts=counts) == []
    assert rank_drivers("db latency", (T, target), {"x": (T, driver)}, math.nan, counts=counts) == []
    assert counts["mismatched lengths"] == 2 and counts["bad now"] == 1


def test_times_are_event_times_in_utc():
    assert clock(NOW) == "14:00"
    assert clock(NOW + 5 * 60 + 59) == "14:05"


@pytest.mark.parametrize("data, field", [
    ({"window": "2 hours"}, "window"),
    ({"max_lag": "3h"}, "max_lag"),
    ({"mode": "ranks"}, "mode"),
    ({"alpha": 2}, "alpha"),
    ({"min_points": 2}, "min_points"),
    ({"lag": "10m"}, "lag"),
])
def test_settings_errors_name_the_field(data, field):
    with pytest.raises(ValueError, match=rf"explain\.drivers\.{field}:"):
        DriverSettings.from_mapping(data, "explain.drivers")
    assert DriverSettings.from_mapping({"window": "1h", "max_lag": "20m"}).max_lag == 1200


def test_an_attribution_share_alone_is_not_movement():
    """A multivariate model may give a steady series a large share of an anomaly: it is not
    named as a cause ("DB pool usage steady (60% of the anomaly)" must not happen)."""
    rng = np.random.default_rng(11)
    target = 5 + rng.normal(0, 0.1, N)
    target[-10:] += 3.0  # the target jumps
    pool = 40 + rng.normal(0, 1, N)  # steady
    rate = 100 + rng.normal(0, 1, N)
    rate[-40:] += 30  # moved
    drivers = {d.name: d for d in rank_drivers("checkout latency", (T, target), {"DB pool usage": (T, pool),
                                                                              "request rate": (T, rate)},
                                               NOW, attributions={"DB pool usage": 0.6, "request rate": 0.3})}
    assert not drivers["DB pool usage"].moved and drivers["DB pool usage"].notable
    assert drivers["DB pool usage"].text == "DB pool usage steady (60% of the anomaly)"
    assert drivers["request rate"].moved and drivers["request rate"].text.startswith("request rate +30% since")


def test_noise_in_a_sparse_series_is_not_movement():
    """Errors per second from a few errors a minute: the last quarter hour's mean is 10-30%
    off the earlier mean by chance, which is noise, not a driver that moved."""
    target = 5 + np.random.default_rng(0).normal(0, 0.1, N)
    moved = []
    for seed in range(20):
        errors = np.random.default_rng(seed).poisson(2.0, N) / 60.0
        (driver,) = rank_drivers("latency", (T, target), {"error rate": (T, errors)}, NOW)
        moved.append(driver.moved)
        assert driver.moved or "steady" in driver.text
    assert sum(moved) <= 2
    surge = np.random.default_rng(99).poisson(2.0, N) / 60.0
    surge[-15:] = np.random.default_rng(98).poisson(12.0, 15) / 60.0
    (driver,) = rank_drivers("latency", (T, target), {"error rate": (T, surge)}, NOW)
    assert driver.moved
