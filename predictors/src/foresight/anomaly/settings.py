"""Settings of the streaming univariate detector, with the one default set used on NAB."""
import math
from dataclasses import dataclass, fields


@dataclass
class DetectorSettings:
    """Every field has the single default that is used for all series.

    Row counts are in data points, not seconds, so they mean the same thing whatever
    the sampling interval of the series.
    """
    warmup_rows: int = 150              # rows scored 0 while the statistics settle
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
    quiet_share_of_seen: float = 0.03   # the quiet period grows to this share of the rows seen
    quiet_max_rows: int = 500           # longest quiet period, in rows
    quiet_factor: float = 0.0           # damping applied inside the quiet period
    novelty_bins: int = 4               # value bins across the range of the first novelty_width_rows
    novelty_width_rows: int = 150       # rows whose range sets the (then fixed) bin width
    novelty_short_rows: int = 5         # novelty flags averaged before the tail test
    novelty_max_transitions: int = 1024 # bin-to-bin steps remembered (bounds memory)

    @classmethod
    def from_mapping(cls, data: dict | None, where: str) -> "DetectorSettings":
        """Defaults overridden by `data`; ValueError names `where`, the field and the value."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise ValueError(f"{where}: detector settings must be a mapping, got {data!r}")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(map(str, data)) - set(known))
        if unknown:
            raise ValueError(f"{where}: unknown detector setting(s) {', '.join(unknown)}; "
                             f"valid settings are {', '.join(sorted(known))}")
        values = {name: _checked(name, known[name].type, value, where) for name, value in data.items()}
        settings = cls(**values)
        settings.validate(where)
        return settings

    def validate(self, where: str = "detector settings") -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = _LIMITS[f.name]
            if not low <= value <= high:
                raise ValueError(f"{where}: {f.name} = {value!r} is outside [{low}, {high}]")
        if 2 * self.subsequence_rows > self.history_rows:
            raise ValueError(f"{where}: subsequence_rows ({self.subsequence_rows}) must be at most "
                             f"half of history_rows ({self.history_rows})")
        if self.quiet_max_rows < self.quiet_rows:
            raise ValueError(f"{where}: quiet_max_rows ({self.quiet_max_rows}) must be at least "
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
    "novelty_bins": (1, 1024),
    "novelty_width_rows": (2, 1_000_000),
    "novelty_short_rows": (1, 64),
    "novelty_max_transitions": (1, 1_000_000),
}


def _checked(name: str, kind, value, where: str):
    if kind in (int, "int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: {name} must be a whole number, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)
