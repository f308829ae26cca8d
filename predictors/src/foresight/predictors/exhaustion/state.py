"""What the exhaustion predictor remembers about one target between evaluations."""
import math
from dataclasses import dataclass, field

from .calibration import GrowthCalibration
from .forecasters import CYCLE_HISTORY, ROBUST
from .model_selection import ModelSelector
from .resets import ResetHistory
from .seasonality import DailyProfile
from .trends import TrendFit


@dataclass
class TargetState:
    """What the predictor remembers about one target between evaluations."""
    calibration: GrowthCalibration  # the track record of the robust trend (and cycle-history) rates
    refit_phase: float  # staggers refits so targets do not all refit in the same loop
    fit: TrendFit | None = None
    fit_time: float = -math.inf
    next_refit: float = -math.inf
    reset_since: float = -math.inf
    reset_drop: float = math.inf  # a fall within 15 minutes larger than this is a reset (set at each refit)
    profile: DailyProfile | None = None
    profile_due: float = -math.inf
    resets: ResetHistory = field(default_factory=ResetHistory)
    selector: ModelSelector | None = None
    rates: dict = field(default_factory=dict)  # candidate -> growth rate at the last model refit
    models_due: float = -math.inf
    model: str = ROBUST  # the forecaster behind the current fit
    robust_fit: TrendFit | None = None  # the robust trends, also when another candidate is chosen
    # Each other candidate's own track record: multipliers learnt on one forecaster's rates
    # would mis-scale another's (a damped trend under-forecasts a leak more than a line does).
    calibrations: dict = field(default_factory=dict)

    def calibration_for(self, model: str) -> GrowthCalibration:
        if model in (ROBUST, CYCLE_HISTORY):
            return self.calibration
        if model not in self.calibrations:
            self.calibrations[model] = GrowthCalibration(check_after=self.calibration.check_after)
        return self.calibrations[model]

    def level_at(self, now: float) -> float:
        """The trend's level now, without the daily profile."""
        return self.fit.level + self.fit.slope * (now - self.fit_time)

    def season_at(self, t: float) -> float:
        return float(self.profile.at(t)) if self.profile is not None else 0.0
