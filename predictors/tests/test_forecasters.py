import numpy as np
import pytest

from foresight.predictors.exhaustion.forecasters import bin_means, ets_damped_rate, stl_trend_rate

DAY = 86400.0


def test_bin_means_are_evenly_spaced_and_fill_gaps():
    t = np.r_[np.arange(0, 3600, 60.0), np.arange(7200, 10800, 60.0)]  # an hour missing
    bt, bv = bin_means(t, 2.0 * t, 900.0)
    assert np.allclose(np.diff(bt), 900.0)
    assert bt[-1] == t[-1]
    # The empty bins lie on the line through their neighbours, so the slope survives the gap.
    assert np.polyfit(bt, bv, 1)[0] == pytest.approx(2.0, rel=0.02)


def test_ets_rate_follows_a_steady_leak_and_damps_it():
    rng = np.random.default_rng(3)
    t = np.arange(0, 8 * 3600, 60.0)
    v = 1e-3 * t + rng.normal(0, 0.5, t.size)
    rate = ets_damped_rate(t, v, 8 * 3600)
    assert 0.4e-3 < rate < 1.05e-3  # the damped trend slows down over the horizon


def test_ets_needs_two_hours():
    t = np.arange(0, 3600, 60.0)
    assert ets_damped_rate(t, t * 1e-3, 8 * 3600) is None


def test_ets_sees_growth_stopping():
    t = np.arange(0, 10 * 3600, 60.0)
    v = np.minimum(t, 6 * 3600) * 1e-3  # grew for six hours, flat for four
    # The slow trend fades rather than stopping at once: a step is not taken for a new leak.
    assert abs(ets_damped_rate(t, v, 8 * 3600)) < 0.25e-3


def test_stl_trend_under_a_daily_cycle():
    rng = np.random.default_rng(4)
    t = np.arange(0, 3 * DAY, 60.0)
    v = 2e-4 * t + 10 * np.sin(2 * np.pi * t / DAY) + rng.normal(0, 1, t.size)
    assert stl_trend_rate(t, v) == pytest.approx(2e-4, rel=0.1)
    assert stl_trend_rate(t[t < 1.5 * DAY], v[t < 1.5 * DAY]) is None  # under two days


def test_mstl_with_two_weeks_takes_out_the_weekend():
    rng = np.random.default_rng(5)
    t = np.arange(0, 15 * DAY, 300.0)
    weekend = ((t // DAY) % 7) >= 5
    v = 2e-4 * t + 10 * np.sin(2 * np.pi * t / DAY) + 30 * weekend + rng.normal(0, 1, t.size)
    # The series ends on a Monday morning after a weekend plateau: a line through the raw tail
    # would see the plateau's end as a fall.
    assert stl_trend_rate(t, v) == pytest.approx(2e-4, rel=0.25)
