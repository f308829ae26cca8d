import numpy as np
import pytest

from foresight.contracts.points import COUNTER, DELTA, GAUGE, Point
from foresight.store import SeriesStore, StoreSettings, Window

T0 = 1_767_225_600


def store(**settings):
    return SeriesStore(lambda metric, labels: metric != "ignored", StoreSettings(**settings))


def pt(t, v, kind=GAUGE, metric="m", job="a", instance=""):
    labels = (("instance", instance), ("job", job)) if instance else (("job", job),)
    return Point(metric, labels, t, v, kind)


def values(s, metric="m", job="a"):
    return list(s.windows[(metric, (("job", job),))].values)


# -- the window: sized by time ---------------------------------------------------------

def test_window_keeps_recent_points_raw_and_older_ones_as_five_minute_means():
    w = Window(raw_span=3600, bin_width=300, max_age=86400)
    times = T0 + np.arange(0, 4 * 3600, 15.0)
    for t in times:
        w.append(t, t - T0)  # value = seconds since T0: a bin's mean value is its mean time - T0
    t, v = w.arrays()
    assert (np.diff(t) > 0).all()
    raw = t >= w.raw_since
    assert w.raw_since <= times[-1] - 3600  # at least the raw span is raw
    assert np.array_equal(t[raw], times[times >= w.raw_since])
    old_t, old_v = t[~raw], v[~raw]
    assert np.allclose(old_v, old_t - T0)  # means of the points they replace
    assert np.allclose(old_t - T0, np.arange(old_t.size) * 300 + 142.5)  # one per 5 min: 20 points of 15 s
    assert old_t[0] - T0 == 142.5 and len(w) == old_t.size + raw.sum()


def test_window_drops_what_is_older_than_max_age():
    w = Window(raw_span=600, bin_width=300, max_age=3600)
    for t in T0 + np.arange(0, 5 * 3600, 60.0):
        w.append(t, 1.0)
    assert w.times[0] >= w.last_time - 3600 - 6 * 300  # trimmed when bins are made, a few at a time
    assert w.times[0] > T0 + 3 * 3600


def test_window_caps_raw_points_when_scrapes_are_very_fast():
    w = Window(raw_span=3600, bin_width=300, max_age=86400, max_raw=200)
    for t in T0 + np.arange(0, 1800, 1.0):  # one point a second
        w.append(t, 1.0)
        assert len(w) - int(np.searchsorted(w.times, w.raw_since)) <= 200
    assert (np.diff(w.times) > 0).all()


@pytest.mark.parametrize("step, days", [(15, 3), (60, 3)])
def test_three_days_fit_in_under_64_kb(step, days):
    w = Window()
    for t in T0 + np.arange(0, days * 86400, float(step)):
        w.append(t, 1.0)
    assert w.times[0] - T0 < 600  # all three days are held
    assert w.nbytes() < 64 * 1024


def test_window_state_round_trip_is_exact_and_goes_on_the_same():
    rng = np.random.default_rng(1)
    a = Window(raw_span=1800, bin_width=300, max_age=6 * 3600)
    times = T0 + np.cumsum(rng.uniform(5, 40, 3000))
    for t in times[:2000]:
        a.append(t, rng.normal())
    state = a.to_state()
    assert all(isinstance(v, (int, float, np.ndarray)) for v in state.values())
    b = Window.from_state(state)
    assert np.array_equal(a.times, b.times) and np.array_equal(a.values, b.values)
    assert a.raw_since == b.raw_since and len(a) == len(b)
    for t in times[2000:]:
        v = rng.normal()
        a.append(t, v)
        b.append(t, v)
    assert np.array_equal(a.times, b.times) and np.array_equal(a.values, b.values)
    assert a.raw_since == b.raw_since


def test_window_state_errors_name_the_field():
    state = Window().to_state()
    with pytest.raises(ValueError, match="raw_from"):
        Window.from_state({**state, "raw_from": 5})
    with pytest.raises(ValueError, match="times"):
        Window.from_state({**state, "times": np.array([2.0, 1.0]), "values": np.array([1.0, 1.0]), "raw_from": 0})
    with pytest.raises(ValueError, match="max_raw"):
        Window.from_state({k: v for k, v in state.items() if k != "max_raw"})


# -- the store --------------------------------------------------------------------------

def test_out_of_order_and_duplicates_are_dropped_and_counted():
    s = store()
    assert s.add(pt(T0 + 10, 1)) and s.add(pt(T0 + 20, 2))
    assert not s.add(pt(T0 + 15, 9))
    assert not s.add(pt(T0 + 20, 9))
    assert values(s) == [1, 2]
    assert s.bad == {"out_of_order": 1, "duplicate": 1}


def test_counter_becomes_rate_and_resets_are_detected():
    s = store()
    for t, v in [(0, 100), (10, 150), (20, 200), (30, 20)]:
        s.add(pt(T0 + t, v, COUNTER))
    assert values(s) == [5.0, 5.0, 2.0]  # after the reset the counter restarted from 0
    assert s.counter_resets == 1


def test_delta_increments_add_up_whatever_their_order():
    s = store()
    for t, v in [(0, 1), (10, 5), (10, 5), (5, 2), (20, 3)]:
        s.add(pt(T0 + t, v, DELTA))
    assert values(s) == [0.5, 1.0]  # 5 over 10s, then (5 + 2 + 3) over 10s
    assert s.bad == {}


def test_unwatched_series_are_not_stored_but_move_the_watermark():
    s = store()
    s.add(pt(T0 + 50, 1, metric="ignored"))
    assert s.windows == {} and s.watermark == T0 + 50


# -- event time: one bad clock cannot move it -------------------------------------------

def scrape(s, t, jobs, value=1.0):
    """One scrape of every job at time t (a job may be given as (job, its clock offset))."""
    points = []
    for job in jobs:
        name, offset = job if isinstance(job, tuple) else (job, 0.0)
        points.append(pt(t + offset, value, job=name))
    return s.add_points(points)


def test_a_producer_far_ahead_is_dropped_and_does_not_drag_the_watermark():
    s = store(max_skew=600)
    for i in range(20):
        scrape(s, T0 + 15 * i, ["a", "b", "c", ("skewed", 3600)])
    assert s.watermark == T0 + 15 * 19
    assert s.bad["future"] == 20
    assert ("m", (("job", "skewed"),)) not in s.windows
    assert len(values(s, job="a")) == 20


def test_a_producer_ahead_within_the_skew_is_kept():
    s = store(max_skew=600)
    for i in range(20):
        scrape(s, T0 + 15 * i, ["a", "b", ("early", 300)])
    assert s.bad["future"] == 0 and len(values(s, job="early")) == 20
    assert s.watermark == T0 + 15 * 19  # the early clock does not set it either


def test_a_skewed_producer_seen_first_is_outvoted_once_others_arrive():
    s = store(max_skew=600)
    scrape(s, T0 + 3600, ["skewed"])
    assert s.watermark == T0 + 3600  # alone, its clock is all there is
    for i in range(1, 10):
        scrape(s, T0 + 15 * i, [("skewed", 3600), "a", "b"])
    assert s.watermark == T0 + 15 * 9
    assert s.bad["future"] == 9


def test_a_lone_producer_after_a_gap_is_not_future():
    s = store(max_skew=600)
    scrape(s, T0, ["a"])
    assert scrape(s, T0 + 7200, ["a"]) == 1  # a backtest with a gap, or a single service
    assert s.watermark == T0 + 7200 and s.bad["future"] == 0


def test_a_dead_producer_does_not_hold_the_stream_back():
    s = store(max_skew=600)
    for i in range(10):
        scrape(s, T0 + 60 * i, ["old-pod", "new-pod"])
    for i in range(10, 60):  # the old pod is gone; the new one alone goes on for 50 minutes
        assert scrape(s, T0 + 60 * i, ["new-pod"]) == 1
    assert s.bad["future"] == 0 and s.watermark == T0 + 60 * 59


def test_after_an_outage_the_stream_moves_on_together():
    s = store(max_skew=600)
    for i in range(10):
        scrape(s, T0 + 60 * i, ["a", "b", "c"])
    back = T0 + 3 * 3600
    accepted = sum(scrape(s, back + 60 * i, ["a", "b", "c"]) for i in range(10))
    assert accepted == 30 and s.watermark == back + 60 * 9


# -- series churn: idle series and the series limit ------------------------------------

def test_idle_series_are_evicted_after_the_ttl_and_reported_once():
    s = store(series_ttl=3600)
    scrape(s, T0, ["gone", "stays"])
    for i in range(1, 70):
        scrape(s, T0 + 60 * i, ["stays"])
        evicted = s.sweep()
        if evicted:
            assert evicted == [("m", (("job", "gone"),))] and i > 60
    assert ("m", (("job", "gone"),)) not in s.windows and s.evicted == {"idle": 1}
    assert s.sweep() == []
    assert len(values(s, job="stays")) == 70


def test_at_max_series_the_least_recently_updated_series_makes_room():
    s = store(max_series=3)
    scrape(s, T0, ["a", "b", "c"])
    scrape(s, T0 + 60, ["a", "c"])  # b is now the stalest
    assert scrape(s, T0 + 120, ["d"]) == 1  # a new series is never the one dropped
    assert set(k[1][0][1] for k in s.windows) == {"a", "c", "d"}
    assert s.evicted == {"max_series": 1} and s.sweep() == [("m", (("job", "b"),))]
    assert "series_limit" not in s.bad
