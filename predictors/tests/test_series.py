from foresight.contracts.points import COUNTER, DELTA, GAUGE, Point
from foresight.store import SeriesStore, Window


def store(max_points=100, max_age=1e9):
    return SeriesStore(lambda metric, labels: metric != "ignored", max_points=max_points, max_age=max_age)


def pt(t, v, kind=GAUGE, metric="m"):
    return Point(metric, (("job", "a"),), t, v, kind)


def values(s, metric="m"):
    return list(s.windows[(metric, (("job", "a"),))].values)


def test_window_is_bounded_by_count_and_age():
    w = Window(max_points=3, max_age=10)
    for t in range(6):
        w.append(t, t)
    assert list(w.times) == [3, 4, 5]
    w.append(20, 1)
    assert list(w.times) == [20]


def test_out_of_order_and_duplicates_are_dropped_and_counted():
    s = store()
    assert s.add(pt(10, 1)) and s.add(pt(20, 2))
    assert not s.add(pt(15, 9))
    assert not s.add(pt(20, 9))
    assert values(s) == [1, 2]
    assert s.bad == {"out_of_order": 1, "duplicate": 1}


def test_counter_becomes_rate_and_resets_are_detected():
    s = store()
    for t, v in [(0, 100), (10, 150), (20, 200), (30, 20)]:
        s.add(pt(t, v, COUNTER))
    assert values(s) == [5.0, 5.0, 2.0]  # after the reset the counter restarted from 0
    assert s.counter_resets == 1


def test_delta_increments_add_up_whatever_their_order():
    s = store()
    for t, v in [(0, 1), (10, 5), (10, 5), (5, 2), (20, 3)]:
        s.add(pt(t, v, DELTA))
    assert values(s) == [0.5, 1.0]  # 5 over 10s, then (5 + 2 + 3) over 10s
    assert s.bad == {}


def test_unwatched_series_are_not_stored_but_move_the_watermark():
    s = store()
    s.add(pt(50, 1, metric="ignored"))
    assert s.windows == {} and s.watermark == 50


def test_series_limit_bounds_memory():
    s = SeriesStore(lambda *_: True, max_series=2)
    for i in range(3):
        s.add(Point("m", (("i", str(i)),), 1, 1, GAUGE))
    assert len(s.windows) == 2 and s.bad["series_limit"] == 1
