"""A leak that climbs in steps: its trend is the day's, not the last two hours'.

Some leaks do not grow smoothly. Memory pinned by failed requests, buffers grown in
chunks, a disk written by hourly batches: the series sits flat for an hour or three, then
jumps a few percent, again and again. Lines over the trend's two-hour lookback see one step
or none: right after a step they rise steeply, between steps they say "no growth", and the
time to failure swings between an hour and never. Over the day the steps add up to a
steady climb. So a series whose day (since its last reset) rose in several upward steps,
with few falls among them, and mostly by those steps, is fitted over that day.

The steps are read on quarter-hour medians: a step is a rise between two medians that
exceeds their median rise by more than STEP_SIGMAS robust spreads of those rises (noise, a
daily cycle and a smooth leak move them alike, a step a lot more), counted once when it
straddles two quarters.

Over the trend's usual two hours, such a series grows by a step or by nothing, so a track
record kept over them says the line overshoots half the time and undershoots the rest. A
stepped target's record checks each forecast after about CHECK_STEPS steps instead.
"""
import numpy as np

from .binned import bin_medians, bin_rises
from .trends import TrendFit, fit_trend

STEP_BIN = 900.0  # quarter-hour medians: noise and a collector's teeth average out, a step does not
STEP_SIGMAS = 4.0
MIN_STEPS = 5  # a deploy or two a day can step a series up, noise's bursts a few times; a leak in steps many
MIN_SPAN = 4 * 3600.0  # the day since the last reset must span this much
CHECK_STEPS = 4.0  # the track record checks a forecast after about this many steps


def step_gap(t: np.ndarray, v: np.ndarray) -> float | None:
    """The mean time between steps when (`t`, `v`) climbed in MIN_STEPS or more upward steps,
    none of them rising over more than two quarters, with at most one fall for every four of
    them, and the steps make at least half of the whole rise and the series kept at least
    half of what they added (noise's outliers on a flat series come and go); None when not."""
    if t.size < 2 or t[-1] - t[0] < MIN_SPAN:
        return None
    medians, _ = bin_medians(t, v, STEP_BIN)
    if medians.size < 8:
        return None
    rises, usual, spread = bin_rises(medians)  # a smooth leak's rises are all about `usual`: none is a step
    up, down = rises - usual > STEP_SIGMAS * spread, rises - usual < -STEP_SIGMAS * spread
    (ups, longest), (downs, _) = _runs(up), _runs(down)
    whole, stepped = float(medians[-1] - medians[0]), float(rises[up].sum())
    if ups >= MIN_STEPS and longest <= 2 and downs <= ups // 4 and 0.5 * whole <= stepped <= 2 * whole:
        return float(t[-1] - t[0]) / ups
    return None


def steps_line(t: np.ndarray, v: np.ndarray, now: float, min_points: int, gap: float) -> TrendFit | None:
    """The line through a stepped series' day since its last reset; None over less than
    MIN_SPAN: a new cycle's first steps (or a restart's first minutes) are no trend yet.

    Its 80% range is also that of a line through as many points as the day had steps (one
    every `gap` seconds): when the steps come is what is random, and the points along one
    step are no independent evidence, so a line through all of them is too sure."""
    if t.size < min_points or t[-1] - t[0] < MIN_SPAN:
        return None
    fit = fit_trend(t, v, now)
    few = np.linspace(0, t.size - 1, int(np.clip((t[-1] - t[0]) / gap + 1, 3, t.size))).round().astype(int)
    coarse = fit_trend(t[few], v[few], now)
    return TrendFit(fit.level, fit.slope, min(fit.slope_low, coarse.slope_low), max(fit.slope_high, coarse.slope_high),
                    fit.residual_sd)


def _runs(flags: np.ndarray) -> tuple[int, int]:
    """How many runs of True, and the longest: a step that straddles two quarters counts once,
    and a run of three or more quarters is a ramp (an accelerating leak), not a step."""
    if not flags.any():
        return 0, 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    lengths = edges[1::2] - edges[0::2]
    return int(lengths.size), int(lengths.max())


__all__ = ["CHECK_STEPS", "MIN_SPAN", "step_gap", "steps_line"]
