"""A heap's short sawtooth: telling one apart, and the envelope of its teeth.

A managed runtime's heap climbs between collections and drops at each one, every few
minutes. A line through the teeth follows their rising edges, and the mean is not what
reaches the limit: the teeth's peaks are. So a sawtooth's trend is fitted on its envelope.
"""
import numpy as np

from .resets import falls_ahead
from .binned import median

ENVELOPE_WIDTH = 1800.0  # longer than a collector's or a cache's short sawtooth
SAWTOOTH_FALL = 0.05  # teeth fall by at least this share of the range the series and its limit span
SAWTOOTH_SHARPNESS = 8.0  # ... and this many times the series' typical step between points


def is_sawtooth(t: np.ndarray, v: np.ndarray, falls: np.ndarray, span: float) -> bool:
    """A short sawtooth (a heap between collections): within 15 minutes of most points the
    series both falls (`falls`, from resets.falls_ahead) and rises by a lot (a share of the
    span) and by many times the steps it moves by between points. Noise moves a few of its
    own steps; whole-unit series (pools) a unit or two; a steady decline only falls."""
    if v.size < 3 or span <= 0:
        return False
    typical_fall = median(falls)
    if typical_fall <= SAWTOOTH_FALL * span:  # most series stop here, at the cheapest test
        return False
    least = max(SAWTOOTH_FALL * span, SAWTOOTH_SHARPNESS * max(median(np.abs(np.diff(v))), 1e-6 * span))
    if typical_fall <= least:
        return False
    return median(falls_ahead(t, -v)) > least  # rises: the falls of the mirrored series


def upper_envelope(t: np.ndarray, v: np.ndarray, width: float = ENVELOPE_WIDTH):
    """A sawtooth's envelope: the running mean over the trailing `width` seconds raised by
    the teeth's typical height above it (the median of running maximum minus running mean),
    from the first point with a whole `width` behind it. Returns (times, envelope, how far
    the envelope sits above the values, as a median), or None when fewer than two points
    have a whole window behind them.

    A heap fails when a tooth reaches the limit, not when its mean does. A line through the
    teeth follows their rising edges; the running mean follows the live set, and the
    height of the teeth puts it at their peaks.
    """
    if t.size < 2 or t[-1] - t[0] < width:
        return None
    starts = np.searchsorted(t, t - width, side="left")
    ends = np.arange(1, t.size + 1)
    pairs = np.empty(2 * t.size, dtype=np.intp)
    pairs[0::2], pairs[1::2] = starts, ends
    peaks = np.maximum.reduceat(v, pairs[:-1])[0::2]  # max of v[start:i+1] per point
    sums = np.concatenate(([0.0], np.cumsum(v)))
    means = (sums[ends] - sums[starts]) / (ends - starts)
    whole = t >= t[0] + width
    if whole.sum() < 2:
        return None
    envelope = means[whole] + median(peaks[whole] - means[whole])
    return t[whole], envelope, median(envelope - v[whole])
