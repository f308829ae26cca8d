"""A series that went away (a pod deleted, a host down) has its prediction withdrawn once the
stream's clock has moved GONE_AFTER past its last point, so an alert on it resolves; a
producer whose clock runs behind, but keeps sending, is not gone."""
from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.predictors.base import GONE_AFTER, GONE_INTERVALS
from foresight.runtime.engine import Engine

T0 = 1_767_225_600
CONFIG = """
predictors:
  - name: memory
    kind: exhaustion
    series: used
    limit: 100
"""


def point(pod: str, t: float, value: float, instance: str = "10.0.1.12:10250") -> Point:
    return Point("used", (("instance", instance), ("job", "kubelet"), ("pod", pod)), float(t), value, GAUGE)


def test_a_series_that_stops_is_withdrawn_after_gone_after_and_comes_back_when_it_does():
    engine = Engine(parse_config(CONFIG))
    stop, back = T0 + 3600, T0 + 3 * 3600
    withdrawn_at, predicted = {}, {}
    for t in range(T0, T0 + 4 * 3600, 15):
        points = [point("api-a", t, 40.0 + (t - T0) / 3600)]
        if t < stop or t >= back:
            points.append(point("api-b", t, 50.0 + (t - T0) / 3600))
        engine.add_points("metrics", points)
        for p in engine.evaluate():
            predicted.setdefault(p.labels["pod"], []).append(t)
        for key in engine.withdrawn:
            withdrawn_at.setdefault(dict(key[1])["pod"], []).append(t)
    assert "api-a" not in withdrawn_at  # it kept sending
    gone = [t for t in withdrawn_at["api-b"] if stop <= t < back]
    # A point's arrival is stamped with the watermark last worked out (up to a batch earlier).
    assert len(gone) == 1 and stop + GONE_AFTER - 60 <= gone[0] <= stop + GONE_AFTER + 120, gone
    assert not [t for t in predicted["api-b"] if stop <= t < back]
    assert [t for t in predicted["api-b"] if t >= back]  # back: predicted again


def test_a_producer_whose_clock_runs_behind_is_not_gone_while_it_sends():
    engine = Engine(parse_config(CONFIG))
    withdrawn = []
    for t in range(T0, T0 + 3 * 3600, 15):
        engine.add_points("metrics", [point("api-a", t, 40.0, "10.0.1.12:10250"),
                                      point("api-b", t, 45.0, "10.0.1.13:10250"),
                                      point("api-c", t - 1200, 50.0, "10.0.1.14:10250")])  # 20 min behind
        engine.evaluate()
        withdrawn += engine.withdrawn
    assert withdrawn == []


def test_a_slow_exporter_is_not_gone_between_its_samples_but_is_once_it_misses_three():
    """A textfile collector's cron every 30 minutes: quiet for longer than GONE_AFTER between its
    samples, but not gone; withdrawn once it has missed GONE_INTERVALS of its own updates."""
    engine = Engine(parse_config(CONFIG + "    lookback: 8h\n"))  # min_points of its samples in the lookback
    slow, stop = 1800, T0 + 12 * 3600
    withdrawn, predicted = [], []
    for t in range(T0, T0 + 16 * 3600, 15):
        points = [point("api-a", t, 40.0)]  # a fast series keeps the stream's clock moving
        if (t - T0) % slow == 0 and t < stop:
            points.append(point("cron", t, 20.0 + (t - T0) / 3600, "10.0.1.20:9100"))
        engine.add_points("metrics", points)
        predicted += [t for p in engine.evaluate() if p.labels["pod"] == "cron"]
        withdrawn += [t for key in engine.withdrawn if dict(key[1])["pod"] == "cron"]
    assert slow > GONE_AFTER and predicted and max(predicted) >= stop - slow
    assert len(withdrawn) == 1 and stop - slow + GONE_INTERVALS * slow - 120 <= withdrawn[0], withdrawn
    assert withdrawn[0] <= stop - slow + GONE_INTERVALS * slow + 120, withdrawn
