"""When the forecast path crosses the limit, and how likely it is within a window."""
import math

import numpy as np

from .calibration import GrowthCalibration
from .seasonality import DailyProfile
from .trends import TrendFit

_GRID_STEP = 300.0  # resolution of the crossing search when a daily profile bends the path


class CrossingPath:
    """The gap to the limit along the forecast path: trend plus daily profile (if any)."""

    def __init__(self, limit: float, level: float, now: float, horizon: float, profile: DailyProfile | None):
        self.horizon = horizon
        season_now = float(profile.at(now)) if profile is not None else 0.0
        self.gap_now = limit - level - season_now
        self.grid = self.gaps = None
        if profile is not None:
            self.grid = np.arange(_GRID_STEP, horizon + _GRID_STEP / 2, _GRID_STEP)
            self.gaps = limit - level - profile.at(now + self.grid)

    def time_to_cross(self, slope: float) -> float:
        if self.gap_now <= 0:
            return 0.0
        if self.grid is None:
            if slope <= 0:
                return math.inf
            seconds = self.gap_now / slope
            return seconds if seconds <= self.horizon else math.inf
        hits = np.flatnonzero(slope * self.grid >= self.gaps)
        return float(self.grid[hits[0]]) if hits.size else math.inf

    def needed_slope(self, within: float) -> float:
        """The smallest trend that reaches the limit within `within` seconds."""
        if self.grid is None:
            return self.gap_now / within
        upto = self.grid <= within
        return float(np.min(self.gaps[upto] / self.grid[upto])) if upto.any() else self.gap_now / within

    def probability(self, fit: TrendFit, within: float, calibration: "GrowthCalibration | None") -> float:
        """P(crossing within `within`), from the track record when there is one, else the fit."""
        if self.gap_now <= 0:
            return 1.0
        needed = self.needed_slope(within)
        if calibration is not None:
            return 1.0 if needed <= 0 else calibration.share_at_least(needed / fit.slope)
        spread = fit.spread(within)
        shortfall = (needed - fit.slope) * within
        if spread <= 0:
            return 1.0 if shortfall <= 0 else 0.0
        return 0.5 * math.erfc(shortfall / spread / math.sqrt(2))
