"""A leak that climbs in steps (steps.py): its trend is the line through the day's steps.

Scraped every 15 s with noise on every scrape (so not a held gauge, held.py), the series
sits flat for one to three hours, then jumps a few percent. Lines over the last two hours
see one step or none, so the time to failure swung between an hour and never and the leak
went unwarned. Series that step up and down (deploys), or stop stepping, must not page.
"""
import numpy as np
import pytest

from engine_replay import T0, replay

from foresight.predictors.exhaustion.steps import step_gap

STEP = 15.0
HOUR = 3600.0


def stepped(hours: float, seed: int, size=(2.5, 5.0), gap=(0.7, 2.5), start=30.0, stop_after=None,
            down_share=0.0) -> np.ndarray:
    """Scrapes every 15 s: `start` percent, plus a step of `size` percent every `gap` hours
    (each drawn uniformly), a step down instead with probability `down_share`, no more
    steps after `stop_after` hours; noise on every scrape and a six-hour wobble."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * HOUR, STEP)
    level = np.full(t.size, start)
    at = 0.0
    while True:
        at += rng.uniform(*gap) * HOUR
        if at >= t[-1] or (stop_after is not None and at > stop_after * HOUR):
            break
        sign = -1.0 if rng.uniform() < down_share else 1.0
        level = level + sign * rng.uniform(*size) * np.clip((t - at) / 120.0, 0.0, 1.0)  # two minutes to settle
    return level + rng.normal(0.0, 0.8, t.size) + np.sin(2 * np.pi * t / (6 * HOUR))


WATCHED_FOR_DAYS = """predictors:
  - name: memory
    kind: exhaustion
    series: used
    limit: 100
    policy: {min_history: 0s}
"""
DEFAULTS = "predictors:\n  - name: memory\n    kind: exhaustion\n    series: used\n    limit: 100\n"


def run(values: np.ndarray, config: str = DEFAULTS) -> list:
    """Through the engine (limit 100), evaluated every 5 minutes."""
    return replay(values, config, STEP)


def crossing_hour(values: np.ndarray) -> float:
    above = np.flatnonzero(values >= 100.0)
    return above[0] * STEP / HOUR if above.size else np.inf


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_leak_in_steps_is_warned_hours_ahead(seed):
    values = stepped(40, seed)
    crossing = crossing_hour(values)
    assert 20 < crossing < 40, crossing  # the series reaches the limit within what is watched
    watched = values[: int((crossing - 0.5) * HOUR / STEP)]
    # `min_history: 0s` stands for a target watched for days before these hours (a young
    # one may only page): warnings are allowed, and a day and a half keeps the test short.
    predictions = run(watched, WATCHED_FOR_DAYS)
    # From three hours before the crossing: alerting (warning or critical) almost throughout,
    # with a finite time to failure. Lines over the last two hours said "no failure ahead"
    # between steps.
    late = [p for p in predictions if p.timestamp >= T0 + (crossing - 3) * HOUR]
    alerting = [p for p in late if p.risk_level >= 2]
    assert len(alerting) >= 0.8 * len(late), [(round((p.timestamp - T0) / HOUR, 2), p.risk_level) for p in late]
    assert all(p.ttf[0.5] < 12 * HOUR for p in late), [p.ttf[0.5] / HOUR for p in late]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_series_that_steps_up_and_down_does_not_page(seed):
    # Deploys: a new level every 1-3 hours, up or down alike, kept under 85%; watched 56 h, past
    # the days in which a young target may only page.
    # No page. (A step up of 10% can still raise a warning for some minutes, as it did before
    # steps were told apart: lines over the last hours see a ramp. Seed 1 does, at 54%.)
    values = np.clip(stepped(56, seed, size=(5.0, 12.0), gap=(1.0, 3.0), start=55.0, down_share=0.5), 0, 85)
    predictions = run(values)
    assert predictions
    assert not [p for p in predictions if p.risk_level == 3], [
        (round((p.timestamp - T0) / HOUR, 2), round(p.observed), p.risk_level) for p in predictions if p.risk_level == 3]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_leak_in_steps_that_stops_does_not_page(seed):
    # Steps of 1.5-3% for 30 hours (to about 60-75%), then none for 26 hours.
    values = stepped(56, seed, size=(1.5, 3.0), stop_after=30)
    assert 55 < values[-1000:].mean() < 85
    predictions = run(values)
    assert not [p for p in predictions if p.risk_level >= 2], [
        (round((p.timestamp - T0) / HOUR, 2), round(p.observed), p.risk_level) for p in predictions if p.risk_level >= 2]
    assert predictions[-1].probability[8 * HOUR] < 0.2


def test_what_counts_as_a_climb_in_steps():
    t = np.arange(0.0, 12 * HOUR, STEP)
    leak = stepped(12, 5)
    gap = step_gap(t, leak)
    assert gap is not None and 0.7 * HOUR <= gap <= 2.5 * HOUR, gap
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.8, t.size)
    assert step_gap(t, 30 + 4 * t / HOUR + noise) is None  # a smooth leak: no steps
    # An accelerating leak: its last quarters all rise well above the usual rise, as one ramp.
    assert step_gap(t, 30 + 60 * (t / t[-1]) ** 4 + 0.3 * noise) is None
    assert step_gap(t, 50 + noise) is None  # flat
    assert step_gap(t, stepped(12, 5, down_share=0.5)) is None  # up and down: deploys, not a leak
    assert step_gap(t[: int(3 * HOUR / STEP)], leak[: int(3 * HOUR / STEP)]) is None  # under MIN_SPAN
    sawtooth = 40 + 20 * ((t % 1800) / 1800) + noise  # a collector's teeth every 30 min
    assert step_gap(t, sawtooth) is None
