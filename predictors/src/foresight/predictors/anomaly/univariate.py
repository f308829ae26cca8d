"""Streaming anomaly score for one numeric series, one point at a time.

Five cheap checks each give a raw score for the newest point:
  level   distance of the value from its smoothed level, in smoothed spreads;
  range   how far the value lies outside everything in the recent history;
  shape   distance of the last few values to their nearest match in the history;
  daily   distance of the value from what this time of day (UTC) usually looks like;
  novelty whether the step from the previous value's bin to this one is new (`transitions`).
Each raw score becomes a tail probability against that check's own past
(`TailLikelihood`; for the range and novelty checks, 0 on most rows, a two-part tail that
lets a first-of-its-kind value reach the alarm level but only goes beyond it on evidence).
The novelty check says nothing (None, not learned) until its bins are set. The smallest
probability, corrected for trying several checks, is mapped to [0, 1] on a log scale.
No score is given (None) until `warmup_rows` points have been seen. A score above the
previous row's is damped (a lone unusual row in a spiky series is weaker evidence than two
in a row); the damping is a power, so a score of 1 (an extreme row) is kept and a clear
lone spike still alarms. After a high score a quiet period (growing with the rows seen,
see `alarms`) damps the scores that follow, because one anomaly should raise one alarm,
not a run of them; a score at `quiet_breakthrough` still ends a quiet period opened by a
lower one once `quiet_rows` have passed.

Only the current and earlier points are used, and memory is bounded (about
2 * history_rows + 3 * daily_slots numbers plus at most novelty_max_transitions remembered
steps), so one detector per live series is affordable.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .alarms import QuietPeriod
from .history import RecentValues
from .likelihood import TailLikelihood
from .settings import DetectorSettings
from .spread import SmoothedSpread, scaled
from .transitions import TransitionNovelty

__all__ = ["CHECKS", "DetectorSettings", "StreamingDetector"]

CHECKS = ("level", "range", "shape", "daily", "novelty")
ZERO_HEAVY = ("range", "novelty")  # checks whose raw score is 0 on most rows (likelihood)
SECONDS_PER_DAY = 86400.0


class StreamingDetector:
    """Feed points in time order with `update`; each call returns that point's score."""

    def __init__(self, settings: DetectorSettings | None = None):
        self.settings = settings or DetectorSettings()
        s = self.settings
        self.rows_seen = 0
        self.bad_values = 0  # non-finite or non-numeric values, skipped
        self.last_score: float | None = None  # None until ready
        self._previous_score = 0.0  # before damping by the quiet period
        self.last_tails: dict[str, float] = {}  # per check: which check drove the last score
        self._values = RecentValues(s.history_rows)
        self._level = SmoothedSpread(s.level_memory_rows)
        self._daily = [SmoothedSpread(s.daily_memory_visits) for _ in range(s.daily_slots)]
        self._novelty = TransitionNovelty(s.novelty_bins, s.novelty_width_rows,
                                          s.novelty_max_transitions)
        # Novelty flags are 0/1, so they are averaged over more rows than the graded checks.
        short_rows = {name: s.likelihood_short_rows for name in CHECKS}
        short_rows["novelty"] = s.novelty_short_rows
        alarm_tail = _tail_at(s.alarm_level, s.score_decades, len(CHECKS))
        self._tails = {name: TailLikelihood(short_rows[name], s.likelihood_memory_rows, s.likelihood_std_floor,
                                            zero_heavy=name in ZERO_HEAVY, alarm_tail=alarm_tail)
                       for name in CHECKS}
        self._quiet = QuietPeriod(s.alarm_level, s.quiet_rows, s.quiet_factor,
                                  s.quiet_share_of_seen, s.quiet_max_rows, s.quiet_breakthrough)

    @property
    def ready(self) -> bool:
        """Whether the statistics have settled: more than `warmup_rows` values seen. Before
        that no score is given (None), because a score of 0 would read as "normal"."""
        return self.rows_seen > self.settings.warmup_rows

    def update(self, timestamp: float, value: float) -> float | None:
        """Anomaly score in [0, 1] for this point, from this and earlier points only; None
        until the detector is `ready` (a bad value gets the last score)."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            self.bad_values += 1
            return self.last_score
        slot = _slot(timestamp, SECONDS_PER_DAY, len(self._daily))
        raw = {
            "level": self._level.deviation(value),
            "range": self._out_of_range(value),
            "shape": self._shape_distance(value),
            "daily": self._daily_deviation(slot, value),
            "novelty": self._novelty.update(value),
        }
        self._learn(slot, value)
        tails = {name: self._tails[name].update(raw[name]) for name in CHECKS}
        self.last_tails = tails
        score = self._to_score(min(tails.values()) * len(tails))
        if not self.ready:
            return None
        score, self._previous_score = self._damp_lone_row(score), score
        self.last_score = self._quiet.apply(score, self.rows_seen)
        return self.last_score

    def _damp_lone_row(self, score: float) -> float:
        """Cap the score at the larger of the previous row's score and score ** lone_row_power."""
        return min(score, max(self._previous_score, score ** self.settings.lone_row_power))

    def _out_of_range(self, value: float) -> float:
        """Distance outside [min, max] of the recent history, as a share of its span."""
        history = self._values.latest()
        if len(history) < 2:
            return 0.0
        low, high = float(history.min()), float(history.max())
        return scaled(max(value - high, low - value, 0.0), high - low)

    def _shape_distance(self, value: float) -> float:
        """RMS distance of the last `subsequence_rows` values (this one included) to the
        nearest earlier stretch of the same length, in smoothed spreads."""
        m = self.settings.subsequence_rows
        history = self._values.latest()
        if len(history) < 2 * m:
            return 0.0
        recent = np.append(history[len(history) - m + 1:], value)
        # Candidates end at least m rows ago, so they never overlap the recent stretch.
        candidates = sliding_window_view(history[:len(history) - m + 1], m)
        nearest = float(np.min(np.sum((candidates - recent) ** 2, axis=1)))
        return scaled(math.sqrt(nearest / m), math.sqrt(self._level.var))

    def _daily_deviation(self, slot, value: float) -> float:
        """Distance from this time of day's usual level. The slot's spread is floored at a
        share of the overall spread, so a slot that happened to be flat is not oversensitive."""
        if slot is None:
            return 0.0
        usual = self._daily[slot]
        if usual.seen < self.settings.daily_min_visits or self._level.var <= 0.0:
            return 0.0
        spread = max(math.sqrt(usual.var), self.settings.daily_std_floor * math.sqrt(self._level.var))
        return scaled(abs(value - usual.mean), spread)

    def _learn(self, slot, value: float) -> None:
        self._level.learn(value)
        self._values.append(value)
        if slot is not None:
            self._daily[slot].learn(value)
        self.rows_seen += 1

    def _to_score(self, tail: float) -> float:
        tail = min(max(tail, 1e-300), 1.0)
        return min(1.0, max(0.0, -math.log10(tail) / self.settings.score_decades))


def _tail_at(score: float, decades: float, checks: int) -> float:
    """The one check's tail probability that gives this score (the inverse of `_to_score`),
    a hair smaller so that rounding cannot leave the score below it."""
    return 0.99 * 10.0 ** (-score * decades) / checks


def _slot(timestamp, period: float, slots: int):
    """Which of `slots` equal parts of the period (counted from the Unix epoch, UTC) holds
    the timestamp; None for a timestamp that is not a finite number."""
    try:
        seconds = float(timestamp) % period
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(seconds):
        return None
    return min(int(seconds / period * slots), slots - 1)
