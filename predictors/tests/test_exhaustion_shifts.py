"""Level shifts (shifts.py): one jump up that makes most of the trend window's rise.

A batch job starts, a deploy needs more, a store restarts on a node: the series jumps to a
new level and holds. A line through the jump is no trend; what the series does after it
is. The case that paged before: a young node's CPU, whose busy share jumped from 23% to
70% at a nightly batch, paged critical 20 minutes later when a three-minute spike of a
restart touched 100% (a crash run's only false page, node-cpu on memory-leak seed 126).
"""
import numpy as np
import pytest

from engine_replay import T0, replay

from foresight.predictors.exhaustion.shifts import level_shift
from foresight.predictors.exhaustion.trends import fit_multiscale

STEP = 15.0
MINUTE, HOUR = 60.0, 3600.0
CPU = "predictors:\n  - name: cpu\n    kind: exhaustion\n    series: used\n    limit: 95\n"


def batch_then_spike(seed: int, spike: bool = True) -> np.ndarray:
    """A young node's CPU busy %, 15 s scrapes for 2.5 h: 23% from its start, a batch job
    that takes it to 70% at 1.9 h, and a store restart's spike to 99.8% at 2.25 h that lasts
    three minutes and falls back."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 2.5 * HOUR, STEP)
    busy = np.where(t < 1.9 * HOUR, 23.0, 70.0) + rng.normal(0.0, 3.0, t.size)
    if spike:
        into = t - 2.25 * HOUR
        busy = np.where((into >= 0) & (into < 3 * MINUTE), 99.8 - rng.uniform(0, 1.5, t.size), busy)
    return np.clip(busy, 0.0, 100.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_jump_and_a_restart_spike_do_not_page(seed):
    values = batch_then_spike(seed)
    predictions = replay(values, CPU, STEP, every_minutes=1)
    assert predictions
    paged = [(round((p.timestamp - T0) / HOUR, 2), round(p.observed), p.risk_level) for p in predictions
             if p.risk_level >= 2]
    assert not paged, paged


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_climb_after_a_jump_is_still_warned(seed):
    # The same jump to 70%, then a runaway climb of 10% an hour from there: it reaches 95% in
    # about 2.5 h, and the line after the jump says so.
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 4.2 * HOUR, STEP)
    after = np.clip(t - 1.9 * HOUR, 0.0, None)
    values = np.where(t < 1.9 * HOUR, 23.0, 70.0 + 10.0 * after / HOUR) + rng.normal(0.0, 1.5, t.size)
    predictions = replay(values, CPU, STEP, every_minutes=1)
    late = [p for p in predictions if p.timestamp >= T0 + 3.5 * HOUR]
    assert any(p.risk_level >= 3 for p in late), [(round((p.timestamp - T0) / HOUR, 2), p.risk_level) for p in late]


def shift_start(values: np.ndarray) -> float | None:
    """Minutes into a two-hour window where the fit starts after a level shift, or None."""
    t = np.arange(values.size) * STEP
    shift = level_shift(t, values)
    return t[shift[1]] / MINUTE if shift else None


def test_what_counts_as_a_level_shift():
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 2 * HOUR, STEP)
    noise = rng.normal(0.0, 1.0, t.size)
    step = np.where(t >= 100 * MINUTE, 47.0, 0.0)
    # One jump: the fit starts within ten minutes after it.
    assert 100 <= shift_start(step + 3 * noise) <= 110
    # A spike of a few points after the jump does not move it.
    spiked = step + 3 * noise
    spiked[-3:] = 90.0
    assert 100 <= shift_start(spiked) <= 110
    # Not a shift: noise, a smooth leak, an accelerating leak, two or four equal steps (a
    # leak in steps), a jump down.
    assert shift_start(noise) is None
    assert shift_start(0.01 * t + noise) is None
    assert shift_start(np.exp(t / 1500.0) + noise) is None
    assert shift_start(np.where(t >= 50 * MINUTE, 20.0, 0.0) + np.where(t >= 100 * MINUTE, 20.0, 0.0) + noise) is None
    assert shift_start(sum(np.where(t >= m * MINUTE, 10.0, 0.0) for m in (17, 50, 83, 108)) + noise) is None
    assert shift_start(-step + noise) is None
    # Nor a steep ramp over a quarter hour, at the end of the window or before it.
    assert shift_start(np.clip((t - 105 * MINUTE) / (15 * MINUTE), 0, 1) * 15.0 + 0.3 * noise) is None
    assert shift_start(np.clip((t - 80 * MINUTE) / (20 * MINUTE), 0, 1) * 30.0 + 0.3 * noise) is None
    # Nor a dip that comes back: space freed for a quarter hour, a cache dropped and refilled.
    dip = np.where((t >= 80 * MINUTE) & (t < 95 * MINUTE), -30.0, 0.0)
    assert shift_start(dip + noise) is None
    assert shift_start(np.where(t >= 105 * MINUTE, 0.0, -30.0) + noise) is not None  # a dip since the window began: a jump


def test_the_trend_after_a_jump_is_the_level_it_holds():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 2 * HOUR, STEP)
    now = float(t[-1])
    held = np.where(t >= 95 * MINUTE, 70.0, 23.0) + rng.normal(0.0, 3.0, t.size)
    fit = fit_multiscale(t, held, now, 10)
    assert abs(fit.slope) * HOUR < 5.0 and fit.slope_high * HOUR < 20.0, (fit.slope * HOUR, fit.slope_high * HOUR)
    assert abs(fit.level - 70.0) < 3.0
    climbing = held + np.where(t >= 95 * MINUTE, (t - 95 * MINUTE) * 10.0 / HOUR, 0.0)
    assert 5.0 < fit_multiscale(t, climbing, now, 10).slope * HOUR < 15.0
    # A jump of the last minutes: what follows it is not in yet, so the trend before it
    # (here a slow leak of 2% an hour) goes on from the new level.
    fresh = np.where(t >= 112 * MINUTE, 70.0, 23.0) + 2.0 * t / HOUR + rng.normal(0.0, 3.0, t.size)
    assert shift_start(fresh) >= 112
    fit = fit_multiscale(t, fresh, now, 10)
    assert abs(fit.slope * HOUR - 2.0) < 1.5 and abs(fit.level - 74.0) < 3.0, (fit.slope * HOUR, fit.level)
