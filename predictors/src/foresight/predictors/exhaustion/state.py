"""What the exhaustion predictor remembers about one target between evaluations."""
import math
from collections import deque
from dataclasses import dataclass, field

from .bursts import RAW_HOURS
from .calibration import GrowthCalibration
from .forecasters import CYCLE_HISTORY, ROBUST
from .model_selection import ModelSelector
from .peaks import PeakTrend
from .resets import ResetHistory
from .seasonality import DailyProfile
from .trends import TrendFit


def next_due(due: float, now: float, period: float, unseen: float) -> float:
    """When a refit done at `now` (due at `due`) is due next: `period` from now. But after the
    target went unseen (no evaluation) for a whole period or more, because its data stopped
    for a while or a backlog was read in big steps, the refit keeps its place in the period,
    so targets stay staggered rather than all refitting in the same loop from then on."""
    if unseen < period or not -math.inf < due <= now:
        return now + period
    return due + period * (math.floor((now - due) / period) + 1)


@dataclass
class TargetState:
    """What the predictor remembers about one target between evaluations."""
    calibration: GrowthCalibration  # the track record of the robust trend (and cycle-history) rates
    refit_phase: float  # staggers refits so targets do not all refit in the same loop
    fit: TrendFit | None = None
    sawtooth: bool = False  # once seen to be a short sawtooth (its track records were cleared then)
    step_gap: float = 0.0  # once seen to climb in steps (steps.py), the mean time between them (records cleared then)
    burst: float = 0.0  # the height its bursts commonly reach above its usual level (bursts.py), refitted hourly
    burst_top: float = 0.0  # ... and the most they reached in the last day
    burst_highs: deque = field(default_factory=lambda: deque(maxlen=RAW_HOURS))  # (hour, high) in raw points (bursts.py)
    peak_offset: float = 0.0  # on a sawtooth, how far the fitted peaks (the envelope) sit above the values
    fit_time: float = -math.inf
    seen_at: float = -math.inf  # the target's previous evaluation
    unseen: float = 0.0  # event time between its previous evaluation and this one
    next_refit: float = -math.inf
    reset_since: float = -math.inf
    reset_drop: float = math.inf  # a fall within 15 minutes larger than this is a reset (set at each refit)
    profile: DailyProfile | None = None
    peaks: PeakTrend | None = None  # the trend of the daily peaks, refitted with the profile
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
    models: dict = field(default_factory=dict)  # candidate -> its last fitted model, as its library's JSON (prophet)
    at_risk: bool = False  # its last prediction was near an alert: its scheduled refits stay inside the loop

    def failures_seen(self) -> int:
        """Cycles that reached the limit."""
        return sum(reached for _, reached in self.resets.peaks)

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
