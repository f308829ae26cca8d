"""Gauges updated less often than they are scraped (held.py): a staircase is fitted on its updates.

A JVM's heap after the last old-generation collection, or a cron job's textfile figure,
holds each value for many scrapes. Fitted on its scrapes, a leak in steps read as "no
growth" most of the time (every line over the last half hour lay on one step); fitted on
its updates it is followed. A staircase that levels off or only wanders must still not page.
"""
import numpy as np
import pytest

from engine_replay import T0, replay

from foresight.predictors.exhaustion.held import HELD_RUN, is_held, updates

STEP = 15.0
HOUR = 3600.0


def staircase(level_at, hours: float, every: float, seed: int) -> np.ndarray:
    """Scrapes every 15 s of a gauge updated every `every` seconds (with some jitter): each
    update is `level_at(hours since start)` plus noise, held until the next."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * HOUR, STEP)
    update_times = np.cumsum(every * rng.uniform(0.7, 1.3, int(hours * HOUR / every) + 2))
    values = np.empty(t.size)
    for i, ti in enumerate(t):
        last = update_times[update_times <= ti]
        at = last[-1] if last.size else 0.0
        values[i] = level_at(at / HOUR) + _noise(at, seed)
    return values


def _noise(at: float, seed: int) -> float:
    return float(np.random.default_rng([seed, int(at)]).normal(0.0, 0.8))


def run(values: np.ndarray, every_minutes: int = 5) -> list:
    """Through the engine (limit 100, default policy), evaluated every `every_minutes`."""
    return replay(values, "predictors:\n  - name: heap\n    kind: exhaustion\n    series: used\n    limit: 100\n",
                  STEP, every_minutes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_leak_in_steps_is_followed_and_warned(seed):
    # Updated every 30 min: 30% at start, 6% more an hour, so 100% at about 11.7 h; watched 10 h.
    values = staircase(lambda h: 30 + 6 * h, 10, 1800, seed)
    predictions = run(values)
    last_hours = [p for p in predictions if p.timestamp >= T0 + 8 * HOUR]
    # Before the change, most of these said "no failure ahead" (the last half hour was one step).
    assert all(p.ttf[0.5] < 24 * HOUR for p in last_hours), [p.ttf[0.5] for p in last_hours]
    truth = (100 - (30 + 6 * 10)) / 6 * HOUR
    assert truth / 1.6 <= predictions[-1].ttf[0.5] <= truth * 1.6, (predictions[-1].ttf, truth)
    assert predictions[-1].probability[6 * HOUR] > 0.8
    # Once it steps, a young target has no prediction until min_points (10) updates are in
    # (about 5 hours here; at least 3 h with the shortest gaps between updates).
    assert not [p for p in predictions if T0 + HOUR <= p.timestamp <= T0 + 3 * HOUR]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_young_heap_warming_up_in_a_few_big_steps_does_not_page(seed):
    # A warm-up to 82% of the heap (time constant 40 min) collected every 40 minutes. Once
    # min_points (10) updates are in, a line through them reaches the limit within hours; the
    # rise levels off, judged back from the newest update, which is up to 40 minutes old.
    values = staircase(lambda h: 82 - 62 * np.exp(-h * 60 / 40), 8, 2400, seed)
    predictions = run(values, every_minutes=1)
    assert predictions
    assert not [p for p in predictions if p.risk_level], [(p.timestamp - T0) / HOUR for p in predictions if p.risk_level]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_staircase_that_levels_off_or_wanders_does_not_page(seed):
    # A restart's warm-up in steps (10% -> 75%, time constant 40 min), then a live set that
    # only wanders by its noise; updated every 20 min, watched 12 h.
    warm_up = staircase(lambda h: 75 - 65 * np.exp(-h * 60 / 40), 12, 1200, seed)
    predictions = run(warm_up)
    assert not [p for p in predictions if p.risk_level == 3]
    assert predictions[-1].ttf[0.5] == float("inf") and predictions[-1].probability[24 * HOUR] < 0.2


def test_what_counts_as_held():
    rng = np.random.default_rng(0)
    steps = np.repeat(rng.normal(50, 2, 12), 80)  # a new value every 20 min at 15 s scrapes
    assert is_held(steps)
    t = np.arange(steps.size) * STEP
    found = updates(t, steps, min_points=10)
    # The first run's value was set before the window began: not an update.
    assert found is not None and found[0].size == 11 and (found[0] == t[80::80]).all()
    # A five-minute mean across a step (one point between its neighbours) is no update either;
    # one point above both of them is.
    means = np.array([10.0] * 20 + [15.0] + [20.0] * 20 + [30.0] + [25.0] * 20)
    assert (updates(np.arange(means.size) * 300.0, means, min_points=2)[1] == [20.0, 30.0, 25.0]).all()
    assert updates(t[:240], steps[:240], min_points=10) is None  # three updates: too few to fit
    assert not is_held(np.full(500, 7.0))  # constant: no updates to fit
    assert not is_held(np.concatenate([np.full(400, 20.0), 20 + np.arange(100) * 0.1]))  # flat, then a ramp
    assert not is_held(rng.poisson(4, 500).astype(float))  # a small count's noise repeats values
    assert not is_held(np.repeat(rng.normal(50, 2, 100), 4))  # updated every minute: 4 scrapes a value
    assert is_held(np.repeat(rng.normal(50, 2, 100), HELD_RUN))
