"""When the forecast path crosses the limit, and how likely it is within a window."""
import math
from functools import lru_cache

import numpy as np

from .calibration import GrowthCalibration
from .seasonality import BIN_SECONDS, DAY, DailyProfile
from .trends import Z80, TrendFit

_GRID_STEP = 300.0  # resolution of the crossing search when a daily profile bends the path
_SQRT2 = math.sqrt(2)


@lru_cache(maxsize=8)
def _grid(horizon: float) -> np.ndarray:
    grid = np.arange(_GRID_STEP, horizon + _GRID_STEP / 2, _GRID_STEP)
    grid.flags.writeable = False
    return grid


@lru_cache(maxsize=64)
def _points_within(horizon: float, within: float) -> int:
    """How many grid times are at or before `within`: the same for every target."""
    return int(np.searchsorted(_grid(horizon), within, side="right"))


@lru_cache(maxsize=8)
def _bins(now: float, horizon: float) -> np.ndarray:
    """The daily profile's bin at each grid time from `now`: the same for every target
    evaluated at `now`, so computed once per loop rather than once per target."""
    bins = (((now + _grid(horizon)) % DAY) // BIN_SECONDS).astype(int)
    bins.flags.writeable = False
    return bins


class CrossingPath:
    """The gap to the limit along the forecast path: trend plus daily profile (if any)."""

    def __init__(self, limit: float, level: float, now: float, horizon: float, profile: DailyProfile | None,
                 season_now: float | None = None):
        self.horizon = horizon
        if season_now is None:  # the profile's offset now, unless the caller has it already
            season_now = float(profile.at(now)) if profile is not None else 0.0
        self.gap_now = limit - level - season_now
        self.grid = self.gaps = self._least = self._gap_floor = None
        if profile is not None:
            self.grid = _grid(horizon)
            self.gaps = limit - level - profile.offsets[_bins(now, horizon)]

    def time_to_cross(self, slope: float) -> float:
        if self.gap_now <= 0:
            return 0.0
        if self.grid is None:
            return self._straight(slope, self.gap_now)
        hits = np.flatnonzero(slope * self.grid >= self.gaps)
        return float(self.grid[hits[0]]) if hits.size else math.inf

    def _straight(self, slope: float, gap: float) -> float:
        if gap <= 0:
            return 0.0
        if slope <= 0:
            return math.inf
        seconds = gap / slope
        return seconds if seconds <= self.horizon else math.inf

    def times_to_cross(self, slopes: list, nearer: list | None = None) -> list:
        """time_to_cross of each slope, in one pass over the grid; with `nearer`, each slope's
        crossing is of a limit that much nearer (negative: farther)."""
        nearer = [0.0] * len(slopes) if nearer is None else nearer
        if self.gap_now <= 0:
            return [0.0] * len(slopes)
        if self.grid is None:
            return [self._straight(s, self.gap_now - d) for s, d in zip(slopes, nearer)]
        if self._out_of_reach(slopes, nearer):
            return [0.0 if self.gap_now <= d else math.inf for d in nearer]
        hits = (np.multiply.outer(np.array(slopes, dtype=np.float64), self.grid)
                >= self.gaps - np.array(nearer, dtype=np.float64)[:, None])
        first = hits.argmax(axis=1)
        return [0.0 if self.gap_now <= d else float(self.grid[i]) if row[i] else math.inf
                for i, row, d in zip(first.tolist(), hits, nearer)]

    def _out_of_reach(self, slopes: list, nearer: list) -> bool:
        """True when no slope's line gets within its `nearer` of the smallest gap anywhere on
        the grid: the common case, told without the search. Exact: rounding keeps order, so no
        grid time can pass a test that the grid's extremes fail."""
        if self._gap_floor is None:
            self._gap_floor = float(self.gaps.min())
        first, last = float(self.grid[0]), float(self.grid[-1])
        return all(self.gap_now <= d or s * (last if s > 0 else first) < self._gap_floor - d
                   for s, d in zip(slopes, nearer))

    def needed_slope(self, within: float) -> float:
        """The smallest trend that reaches the limit within `within` seconds."""
        if self.grid is None:
            return self.gap_now / within
        if self._least is None:  # the least gap per second up to each grid time, for every window
            self._least = np.minimum.accumulate(self.gaps / self.grid)
        upto = _points_within(self.horizon, within)
        return float(self._least[upto - 1]) if upto else self.gap_now / within

    def probability(self, fit: TrendFit, within: float, calibration: "GrowthCalibration | None") -> float:
        """P(crossing within `within`), from the track record when there is one, else the fit."""
        return self.probabilities(fit, (within,), calibration)[0]

    def probabilities(self, fit: TrendFit, windows, calibration: "GrowthCalibration | None") -> list:
        """probability() for each window, in one call (it runs for every target every loop)."""
        if self.gap_now <= 0:
            return [1.0] * len(windows)
        out = []
        slope, slope_sd = fit.slope, (fit.slope_high - fit.slope_low) / (2 * Z80)  # as TrendFit.spread
        for within in windows:
            needed = self.needed_slope(within)
            if calibration is not None:
                out.append(1.0 if needed <= 0 else calibration.share_at_least(needed / slope))
                continue
            spread = math.hypot(slope_sd * within, fit.residual_sd)
            shortfall = (needed - slope) * within
            if spread <= 0:
                out.append(1.0 if shortfall <= 0 else 0.0)
            else:
                out.append(0.5 * math.erfc(shortfall / spread / _SQRT2))
        return out
