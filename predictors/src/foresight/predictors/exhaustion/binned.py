"""Robust summaries of small arrays: medians, bin medians, and the usual rise between bins.

Level shifts (shifts.py) and leaks in steps (steps.py) are both read on the medians of
fixed-width bins, as rises between neighbouring bins that stand out from the bins' usual
rise by several robust spreads.
"""
import numpy as np

MAD_TO_SD = 1.4826  # a normal sample's median absolute deviation times this is its standard deviation


def median(a: np.ndarray) -> float:
    """Median of a small array; np.median's overhead dominates at these sizes."""
    s = np.sort(a)
    return float(s[(s.size - 1) // 2] + s[s.size // 2]) / 2


def bin_medians(t: np.ndarray, v: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Medians of the bins `width` seconds wide (aligned to the newest point) that hold
    points, oldest first, and the index of each bin's first point. `t` is increasing, so
    each bin is a run of points: the runs are laid out as the rows of a grid (padded with
    +inf) and sorted row by row, several times faster over a day of points than one sort
    of them all by bin and value."""
    bins = ((t[-1] - t) // width).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    counts = np.diff(np.append(starts, t.size))
    grid = np.full((starts.size, int(counts.max())), np.inf)
    grid[np.repeat(np.arange(starts.size), counts), np.arange(t.size) - np.repeat(starts, counts)] = v
    grid.sort(axis=1)
    rows = np.arange(starts.size)
    return (grid[rows, (counts - 1) // 2] + grid[rows, counts // 2]) / 2, starts


def bin_rises(medians: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The rises between neighbouring bin medians, their median (a smooth trend's rises
    are all about this) and their robust spread about it."""
    rises = np.diff(medians)
    usual = median(rises)
    return rises, usual, MAD_TO_SD * median(np.abs(rises - usual))


__all__ = ["MAD_TO_SD", "bin_medians", "bin_rises", "median"]
