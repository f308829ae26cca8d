"""Settings of the anomaly kind's detectors: the streaming univariate detector (with the one
default set used on NAB) and the opt-in multivariate model. Both are read by the one
settings reader (foresight.config.reader)."""
import math
from dataclasses import dataclass, fields

from foresight.config.reader import Fields, InvalidSetting, SettingsBlock

ATTRIBUTION_MODES = ("anomalous", "absolute")


@dataclass
class DetectorSettings(SettingsBlock):
    """Every field has the single default that is used for all series.

    Row counts are in data points, not seconds, so they mean the same thing whatever
    the sampling interval of the series.
    """
    block = "detector"
    warmup_rows: int = 150              # rows without a score (None) while the statistics settle
    history_rows: int = 1000            # values kept for the range and shape checks
    level_memory_rows: int = 1000       # smoothing of the level and spread of the values
    subsequence_rows: int = 8           # length of the recent stretch the shape check compares
    daily_slots: int = 24               # time-of-day slots (UTC) of the daily-pattern check
    daily_memory_visits: int = 30       # smoothing of each slot's level, in visits to the slot
    daily_min_visits: int = 12          # visits before a slot is trusted
    daily_std_floor: float = 0.1        # slot spread floor, as a share of the overall spread
    likelihood_memory_rows: int = 4000  # how long raw scores are remembered for the tail test
    likelihood_short_rows: int = 3      # raw scores averaged before the tail test
    likelihood_std_floor: float = 0.02  # keeps the tail test sane when raw scores are flat
    score_decades: float = 10.0         # a tail probability of 10**-score_decades maps to 1.0
    lone_row_power: float = 3.0         # a score above the previous one is cut to max(previous, score ** this)
    alarm_level: float = 0.45           # a score at or above this opens a quiet period
    quiet_rows: int = 30                # shortest quiet period after an alarm, in rows
    quiet_share_of_seen: float = 0.05   # the quiet period grows to this share of the rows seen
    quiet_max_rows: int = 500           # longest quiet period, in rows
    quiet_factor: float = 0.0           # damping applied inside the quiet period
    quiet_breakthrough: float = 0.9     # a score this high ends a quiet period opened by a lower one after quiet_rows
    novelty_bins: int = 4               # value bins across the range of the first novelty_width_rows
    novelty_width_rows: int = 150       # rows whose range sets the (then fixed) bin width
    novelty_short_rows: int = 5         # novelty flags averaged before the tail test
    novelty_max_transitions: int = 1024 # bin-to-bin steps remembered (bounds memory)

    @classmethod
    def read(cls, f: Fields) -> "DetectorSettings":
        values = {}
        for fld in fields(cls):
            low, high = _LIMITS[fld.name]
            read = f.integer if fld.type in (int, "int") else f.number
            values[fld.name] = read(fld.name, fld.default, low=low, high=high)
        return cls.build(f, **values)

    def check(self) -> None:
        for fld in fields(self):
            value = getattr(self, fld.name)
            low, high = _LIMITS[fld.name]
            if not low <= value <= high:
                raise InvalidSetting(fld.name, f"{value!r} is outside [{low}, {high}]")
        if 2 * self.subsequence_rows > self.history_rows:
            raise InvalidSetting("subsequence_rows", f"{self.subsequence_rows} must be at most half of "
                                                     f"history_rows ({self.history_rows})")
        if self.quiet_max_rows < self.quiet_rows:
            raise InvalidSetting("quiet_max_rows", f"{self.quiet_max_rows} must be at least "
                                                   f"quiet_rows ({self.quiet_rows})")


# Inclusive bounds; the caps on history_rows and daily_slots keep memory per detector small.
_LIMITS = {
    "warmup_rows": (0, 1_000_000),
    "history_rows": (16, 4096),
    "level_memory_rows": (2, 10_000_000),
    "subsequence_rows": (1, 64),
    "daily_slots": (1, 1440),
    "daily_memory_visits": (1, 1_000_000),
    "daily_min_visits": (1, 1_000_000),
    "daily_std_floor": (0.0, 10.0),
    "likelihood_memory_rows": (2, 10_000_000),
    "likelihood_short_rows": (1, 64),
    "likelihood_std_floor": (1e-9, 1e3),
    "score_decades": (0.5, 300.0),
    "lone_row_power": (1.0, 100.0),
    "alarm_level": (0.0, 1.0),
    "quiet_rows": (0, 10_000_000),
    "quiet_share_of_seen": (0.0, 1.0),
    "quiet_max_rows": (0, 10_000_000),
    "quiet_factor": (0.0, 1.0),
    "quiet_breakthrough": (0.0, 1.0),
    "novelty_bins": (1, 1024),
    "novelty_width_rows": (2, 1_000_000),
    "novelty_short_rows": (1, 64),
    "novelty_max_transitions": (1, 1_000_000),
}


@dataclass
class MultivariateSettings(SettingsBlock):
    """The multivariate model (Isolation Forest over window features, SHAP attributions)."""
    block = "multivariate"
    window: float = 900.0  # feature window, seconds
    history: float = 3 * 86400.0  # training history kept, seconds
    refit_every: float = 3600.0  # event-time seconds between refits
    min_history: float = 6 * 3600.0  # no scores before this much history
    trees: int = 100
    explain_above: float = 0.5  # attributions (SHAP, costly) are computed for scores at or above this
    score_decades: float = 10.0  # a tail probability of 10**-score_decades maps to 1, as in the univariate detector
    step: float = 60.0  # expected spacing of samples (seasonal slots, buffer bound)
    season: float = 86400.0
    season_days: int = 7
    carry_forward: float = 300.0  # a missing value is replaced by the last one for this long
    max_samples: int = 256  # rows per tree, as in the Isolation Forest paper
    min_vectors: int = 64  # a fit needs at least this many vectors as well as min_history
    random_state: int = 0
    # Every k-th block of `refit_every` seconds is held out of the fit and only used to
    # calibrate scores: a forest scores its own training points (and their neighbours in
    # time) as more normal than the new points it will see until the next refit.
    calibration_every: int = 4
    # The first fit waits up to this long past min_history, by group, so that groups
    # started together do not all fit (and build SHAP explainers) in the same minute.
    first_fit_spread: float = 900.0
    robust_tail: bool = True  # also score the largest per-feature robust z (see the module docstring)
    # "anomalous": share of the SHAP contributions that push towards "anomalous" (shorter
    # isolation paths); "absolute": |phi_i| / sum |phi|, which also counts the features
    # that made the point look normal.
    attribution: str = "anomalous"

    @classmethod
    def read(cls, f: Fields) -> "MultivariateSettings":
        d = cls()
        return cls.build(
            f,
            window=f.duration("window", d.window),
            history=f.duration("history", d.history),
            refit_every=f.duration("refit_every", d.refit_every),
            min_history=f.duration("min_history", d.min_history, minimum=-1),
            trees=f.integer("trees", d.trees, low=1),
            explain_above=f.number("explain_above", d.explain_above, low=0.0, high=1.0),
            score_decades=f.number("score_decades", d.score_decades, low=0.5, high=300.0),
            step=f.duration("step", d.step),
            season=f.duration("season", d.season),
            season_days=f.integer("season_days", d.season_days, low=1),
            carry_forward=f.duration("carry_forward", d.carry_forward, minimum=-1),
            max_samples=f.integer("max_samples", d.max_samples, low=2),
            min_vectors=f.integer("min_vectors", d.min_vectors, low=2),
            random_state=f.integer("random_state", d.random_state, low=0),
            calibration_every=f.integer("calibration_every", d.calibration_every, low=2),
            first_fit_spread=f.duration("first_fit_spread", d.first_fit_spread, minimum=-1),
            robust_tail=f.boolean("robust_tail", d.robust_tail),
            attribution=f.text("attribution", d.attribution, choices=ATTRIBUTION_MODES),
        )

    def check(self) -> None:
        for name in ("window", "history", "refit_every", "step", "season"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise InvalidSetting(name, f"must be a positive duration, got {value!r}")
        if not (0 <= self.min_history <= self.history):
            raise InvalidSetting("min_history", f"must be between 0 and history ({self.history:g}s), "
                                                f"got {self.min_history!r}")
        for name in ("carry_forward", "first_fit_spread"):
            value = getattr(self, name)
            if not (0 <= value and math.isfinite(value)):
                raise InvalidSetting(name, f"must be a non-negative duration, got {value!r}")
        for name, low in (("trees", 1), ("season_days", 1), ("max_samples", 2), ("min_vectors", 2),
                          ("calibration_every", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidSetting(name, f"must be a whole number >= {low}, got {value!r}")
        if not (0.5 <= self.score_decades <= 300.0):
            raise InvalidSetting("score_decades", f"must be in [0.5, 300], got {self.score_decades!r}")
        if not (0.0 <= self.explain_above <= 1.0):
            raise InvalidSetting("explain_above", f"must be in [0, 1], got {self.explain_above!r}")
        if self.attribution not in ATTRIBUTION_MODES:
            raise InvalidSetting("attribution", f"must be one of {', '.join(ATTRIBUTION_MODES)}, "
                                                f"got {self.attribution!r}")
