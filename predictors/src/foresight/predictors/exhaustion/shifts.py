"""A level shift: one jump up that makes most of the trend window's rise.

A batch job that starts, a deploy that needs more memory, a store restarting on a node:
the series jumps to a new level within minutes and holds there. Over the trend's two
hours a Theil-Sen line through the jump climbs steeply, and its residual spread (the two
levels) is wide. A jump is no trend. What the series does after it is: a leak, or a
runaway process, keeps climbing from the new level; a step holds. So the trend
(trends.fit_multiscale) is fitted after the jump, once MIN_FIT_SPAN has followed it; until
then, the trend from before the jump goes on from the new level.

The case that paged: a young node's CPU whose idle share fell from 77% to 30% at a nightly
batch. Twenty minutes later a three-minute spike of a restart touched the limit; the line
through the jump read "-57% per hour" and the page went out. Two more things kept that
spike from paging once the jump was out of the line: a recent part of the window (its half
or quarter) counts only if it spans MIN_FIT_SPAN, and a young target's point far above its
line waits for the next scheduled refit instead of being fitted at once.

The jump is read on five-minute medians (a spike of a point or two does not move them):
the largest rise over two neighbouring bins, beyond the bins' usual rise, that exceeds
SHIFT_SIGMAS robust spreads of those rises and makes at least SHIFT_SHARE of the window's
whole rise, with no such rise in the bin before or after it: a rise over three bins or
more (a quarter hour) is a ramp, and a line through it is a trend. Two or more similar
steps in the window (a leak in steps) share the rise, so none of them makes that much; a
smooth leak's bins all rise alike.
"""
import numpy as np

from .binned import bin_medians, bin_rises, median

SHIFT_BIN = 300.0  # five-minute medians: a spike does not move them, a step does
SHIFT_SIGMAS = 4.0
SHIFT_SHARE = 2.0 / 3.0  # of the window's rise: one step makes it all, two equal ones half each
MIN_BINS = 6


def level_shift(t: np.ndarray, v: np.ndarray) -> tuple[int, int] | None:
    """A level shift up in (`t`, `v`): (the index where the points before the jump end, the
    index of the first point of the first whole bin after it), or None when there is none.
    That bin may be the newest: the jump is then too fresh for a trend after it.

    The new level must also stand above every bin before the jump: a dip that comes back
    (temporary files written and deleted, a cache dropped and refilled) rises as much, but
    only to where it was."""
    if t.size < MIN_BINS or t[-1] - t[0] < MIN_BINS * SHIFT_BIN:
        return None
    medians, starts = bin_medians(t, v, SHIFT_BIN)
    if medians.size < MIN_BINS:
        return None
    rises, usual, spread = bin_rises(medians)
    jumps = (medians[2:] - medians[:-2]) - 2 * usual  # over two bins: a step may straddle their edge
    i = int(np.argmax(jumps))
    whole = float(medians[-1] - medians[0])
    if whole <= 0 or jumps[i] < SHIFT_SHARE * whole:  # most series end here
        return None
    noise = SHIFT_SIGMAS * spread
    up = rises - usual > noise
    if (i > 0 and up[i - 1]) or (i + 2 < rises.size and up[i + 2]):
        return None  # the rise goes on over three bins or more: a ramp, not a jump
    lift = median(medians[i + 2:]) - float(np.max(medians[:i + 1]))
    if jumps[i] <= np.sqrt(2) * noise or lift <= noise:
        return None
    return int(starts[i + 1]), int(starts[i + 2])


__all__ = ["SHIFT_SHARE", "level_shift"]
