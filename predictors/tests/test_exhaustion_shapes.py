"""The exhaustion kind on shapes real resources take, each with a case that must warn and
one that must not: a heap's short sawtooth over a slow leak, a leak that begins after days
of flat noise, and daily peaks that grow with traffic. The series are written here, apart
from the benchmark's generators, with the default policy."""
import numpy as np
import pytest

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine

T0 = 1_767_225_600  # a Thursday, 00:00 UTC
DAY, HOUR, MINUTE = 86400.0, 3600.0, 60.0
LIMIT = 1000.0
WARNING = 2


def levels(times, values):
    """(time, risk level) of every prediction, with the default policy and a fixed limit."""
    e = Engine(parse_config(f"""
predictors:
  - name: heap
    kind: exhaustion
    series: used
    limit: {LIMIT}
"""))
    out = []
    for t, v in zip(times, values):
        e.add_points("metrics", [Point("used", (("pod", "checkout-0"),), float(t), float(v), GAUGE)])
        out.extend((p.timestamp, p.risk_level) for p in e.evaluate())
    return out


def first_alert(times, values, after=-np.inf):
    return next((t for t, level in levels(times, values) if level >= WARNING and t > after), None)


def first_crossing(times, values):
    return float(times[np.argmax(values >= LIMIT)])


def heap(days, leak_from=None, leak_per_day=0.0, seed=1):
    """15 s scrapes of a heap: live set 25%, teeth of 30% every 18 min between collections."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, days * DAY, 15.0)
    live = 250.0 + (0.0 if leak_from is None else leak_per_day * np.clip((t - T0 - leak_from) / DAY, 0, None))
    teeth = 300.0 * (((t - T0) % (18 * MINUTE)) / (18 * MINUTE))
    return t, live + teeth + rng.normal(0, 4.0, t.size)


def test_a_slow_leak_under_a_heaps_sawtooth_is_warned_before_a_tooth_reaches_the_limit():
    t, v = heap(4, leak_from=1.2 * DAY, leak_per_day=180.0)
    t, v = t[t <= first_crossing(t, v)], v[t <= first_crossing(t, v)]
    crossing = float(t[-1])
    alert = first_alert(t, v)
    assert alert is not None and crossing - alert >= 30 * MINUTE
    assert alert >= T0 + 1.2 * DAY  # not before the leak began


def test_a_heaps_sawtooth_without_a_leak_does_not_alert():
    t, v = heap(4)
    assert first_alert(t, v) is None


def flat_days_then(days, leak_hours=None, step=None, seed=2):
    """Minute scrapes at 35% with a small daily cycle; then a fast leak that fills the rest
    in `leak_hours` (accelerating a little), or a deploy step of `step`."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, days * DAY, MINUTE)
    v = 350.0 + 40.0 * np.sin(2 * np.pi * (t - T0) / DAY) + rng.normal(0, 8.0, t.size)
    began = T0 + (days - 1) * DAY + 9 * HOUR
    after = np.clip((t - began) / HOUR, 0, None)
    if leak_hours is not None:
        v += 650.0 * (after / leak_hours) ** 1.3
    if step is not None:
        v += np.where(after > 0, step, 0.0)
    return t, v, began


def test_a_fast_leak_after_days_of_flat_noise_is_warned_in_time():
    t, v, began = flat_days_then(4, leak_hours=4.0)
    crossing = first_crossing(t, v)
    t, v = t[t <= crossing], v[t <= crossing]
    alert = first_alert(t, v)
    assert alert is not None and began < alert <= crossing - 30 * MINUTE


def test_a_deploy_step_after_days_of_flat_noise_does_not_alert():
    t, v, _ = flat_days_then(4, step=250.0)
    assert first_alert(t, v) is None


def traffic(t, peak_hour=15.0):
    """A sharp afternoon peak over a quiet night, between 0.2 and 1."""
    hours = ((t - T0) % DAY) / HOUR
    return 0.2 + 0.8 * np.exp(-0.5 * ((hours - peak_hour) / 2.0) ** 2)


def pool(days, growth_per_day, burst_day=None, seed=3):
    """30 s scrapes of DB connections in use: traffic times a growth per day, in whole
    connections, scaled so the fifth day's peak fills the pool when it grows."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, days * DAY, 30.0)
    scale = 0.9 * LIMIT / (1 + growth_per_day) ** 2.5 if growth_per_day else 0.85 * LIMIT
    demand = scale * traffic(t) * (1 + growth_per_day) ** ((t - T0) / DAY)
    if burst_day is not None:
        demand *= np.where(((t - T0) // DAY) == burst_day, 1.12, 1.0)
    return t, np.minimum(np.round(demand * (1 + 0.01 * rng.normal(size=t.size))), LIMIT)


def test_daily_peaks_growing_with_traffic_are_warned_before_the_peak_that_fills_the_pool():
    t, v = pool(5, growth_per_day=0.05)
    crossing = first_crossing(t, v)
    assert T0 + 4 * DAY < crossing < T0 + 5 * DAY  # the fifth day's peak
    t, v = t[t <= crossing], v[t <= crossing]
    alert = first_alert(t, v, after=T0 + 2 * DAY)  # its first two days: see the steady case
    assert alert is not None and crossing - 12 * HOUR <= alert <= crossing - 30 * MINUTE


@pytest.mark.parametrize("burst_day", [None, 3])
def test_steady_daily_peaks_or_one_busy_day_do_not_alert(burst_day):
    t, v = pool(6, growth_per_day=0.0, burst_day=burst_day)
    assert v.max() < LIMIT
    # Once the daily cycle is known. Before (its first two days), a ramp this steep to 87%
    # of the limit can page critical: a young target's morning looks like a fast leak.
    assert first_alert(t, v, after=T0 + 2 * DAY) is None


def test_the_peak_trend_and_its_day_survive_a_state_round_trip():
    from foresight.lifecycle import codec

    t, v = pool(4, growth_per_day=0.05)
    e = Engine(parse_config(f"predictors:\n  - {{name: heap, kind: exhaustion, series: used, limit: {LIMIT}}}\n"))
    for ti, vi in zip(t, v):
        e.add_points("metrics", [Point("used", (("pod", "checkout-0"),), float(ti), float(vi), GAUGE)])
        e.evaluate()
    state = next(iter(e.predictors[0]._targets.values()))
    assert state.peaks is not None and state.peaks.today is not None
    back = codec.loads(codec.dumps(codec.encode(state), "exhaustion-target"), "exhaustion-target")
    assert back.peaks == state.peaks and back.sawtooth == state.sawtooth
