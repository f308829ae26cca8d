"""`exhaustion`: forecast a resource towards its limit and give time to failure.

The model, per target:
- a daily profile (seasonality.py) once two whole days agree, taken out before fitting;
- robust trends: Theil-Sen lines over the recent window (since the last reset) and its
  recent half and quarter, plus a deseasonalised day on seasonal series; the central
  slope and the spread of their 80% intervals give the forecast and its first range;
- the series' track record: quantiles of its realised-to-forecast growth
  (GrowthCalibration) set the central time to failure and widen the range;
- its past cycles: resets that stopped short of the limit (ResetHistory) lower the
  probability that this cycle reaches it;
- the central growth rate comes from one of several named forecasters (forecasters.py:
  the robust trends above, statsmodels damped-trend ETS, STL/MSTL trend), chosen per target
  by its own rolling-origin error at alerting horizons (model_selection.py); the chosen
  name is on each Prediction as `model`.
The crossing is searched along trend plus profile (CrossingPath). Refits are amortised
(`refit_every`, staggered across targets) so 10,000 series fit in the inference loop.
"""
import math
import zlib
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..config import Fields, PredictorConfig
from ..selectors import Selector
from ..series import SeriesStore, Window
from .forecasters import (CANDIDATES, CYCLE_HISTORY, ETS, ROBUST, STL_TREND, ets_damped_rate, load_statsmodels,
                          stl_trend_rate)
from .model_selection import ModelSelector
from .seasonality import DAY, DailyProfile, fit_daily_profile
from .base import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction, Predictor, output_labels

_Z80 = 1.2815515655446004  # the 0.9 quantile of the standard normal
_MAX_FIT_POINTS = 48  # Theil-Sen is O(n^2); a strided sample keeps the fit cheap


@dataclass
class ExhaustionConfig(PredictorConfig):
    limit: float | None = None
    limit_series: Selector | None = None
    limit_match_on: tuple = ("job", "instance")
    horizon: float = 24 * 3600.0
    lookback: float = 2 * 3600.0
    direction: str = "up"
    min_points: int = 10
    reset_drop_ratio: float = 0.25
    refit_every: float = 300.0
    season_history: float = 3 * 86400.0
    season_refit_every: float = 3600.0
    candidates: tuple = CANDIDATES
    model_refit_every: float = 3 * 3600.0
    selection_horizon: float = 8 * 3600.0

    @classmethod
    def from_fields(cls, f: Fields) -> "ExhaustionConfig":
        cfg = cls(
            **cls.read_common(f),
            limit=f.number("limit"),
            limit_series=f.selector("limit_series"),
            limit_match_on=tuple(f.text_list("limit_match_on", cls.limit_match_on)),
            horizon=f.duration("horizon", cls.horizon),
            lookback=f.duration("lookback", cls.lookback),
            direction=f.text("direction", cls.direction, choices=("up", "down")),
            min_points=f.integer("min_points", cls.min_points, low=3),
            reset_drop_ratio=f.number("reset_drop_ratio", cls.reset_drop_ratio, low=0.01, high=1.0),
            refit_every=f.duration("refit_every", cls.refit_every),
            season_history=f.duration("season_history", cls.season_history),
            season_refit_every=f.duration("season_refit_every", cls.season_refit_every),
            candidates=tuple(f.text_list("candidates", cls.candidates)),
            model_refit_every=f.duration("model_refit_every", cls.model_refit_every),
            selection_horizon=f.duration("selection_horizon", cls.selection_horizon),
        )
        f.reject_unknown()
        unknown = [c for c in cfg.candidates if c not in CANDIDATES]
        if unknown or ROBUST not in cfg.candidates:
            raise f.error("candidates", f"{cfg.candidates!r}: each must be one of {', '.join(CANDIDATES)}, "
                                        f"and {ROBUST!r} must be among them (it is the default)")
        if (cfg.limit is None) == (cfg.limit_series is None):
            raise f.error("limit", "give exactly one of 'limit' (a number) or 'limit_series' (a selector)")
        return cfg


@dataclass
class TrendFit:
    level: float  # fitted value at `now`
    slope: float
    slope_low: float
    slope_high: float
    residual_sd: float

    def spread(self, seconds: float) -> float:
        slope_sd = (self.slope_high - self.slope_low) / (2 * _Z80)
        return math.hypot(slope_sd * seconds, self.residual_sd)


def last_reset(t: np.ndarray, v: np.ndarray, drop: float, within: float = 900.0) -> tuple[int, int] | None:
    """The last fall of more than `drop` within `within` seconds (an OOM kill, a restart,
    a cache eviction, a batch job freeing its space): (index of its peak, index of its bottom)."""
    if v.size < 2:
        return None
    step = float(np.median(np.diff(t)))
    k = max(1, round(within / step)) if step > 0 else 1
    # The next k points of each point; padded so a fall is seen up to the newest point.
    padded = np.concatenate([v, np.full(k, np.inf)])
    ahead = np.lib.stride_tricks.sliding_window_view(padded, k + 1)[: v.size - 1, 1:]
    falls = np.flatnonzero(v[:-1] - ahead.min(axis=1) > drop)
    if not falls.size:
        return None
    last = int(falls[-1])
    peak = max(0, last - k) + int(np.argmax(v[max(0, last - k):last + 1]))
    bottom = last + 1 + int(np.argmin(ahead[last]))
    return peak, bottom


@dataclass
class ResetHistory:
    """Where this series' past cycles ended: at the limit (a failure) or below it.

    A cache evicted at 90% every cycle, or a batch job that frees its scratch space, has
    many peaks below the limit and none at it; an OOM-killed leak peaks at the limit.
    """
    peaks: deque = field(default_factory=lambda: deque(maxlen=50))  # (peak, reached the limit)
    last_time: float = -math.inf
    cycle_start: tuple | None = None  # (time, value) at the bottom of the last reset
    cycle_slopes: deque = field(default_factory=lambda: deque(maxlen=10))  # growth of cycles that failed

    def record(self, time: float, peak: float, limit: float, bottom_time: float, bottom_value: float):
        if time <= self.last_time:
            return
        reached = peak >= limit - 0.02 * abs(limit)
        self.peaks.append((peak, reached))
        if reached and self.cycle_start is not None and time > self.cycle_start[0]:
            self.cycle_slopes.append((peak - self.cycle_start[1]) / (time - self.cycle_start[0]))
        self.last_time, self.cycle_start = time, (bottom_time, bottom_value)

    def prior_fit(self, t: np.ndarray, v: np.ndarray, now: float, residual_sd: float) -> "TrendFit | None":
        """A young cycle's trend taken from the cycles before it, when most of them ended at
        the limit: a service OOM-killed every few hours leaks at much the same rate each time."""
        recent = list(self.peaks)[-len(self.cycle_slopes) - 1:]
        if len(self.cycle_slopes) < 2 or sum(r for _, r in recent) < 0.5 * len(recent):
            return None
        slopes = np.array(self.cycle_slopes)
        slope = float(np.median(slopes))
        level = _median(v - slope * (t - now))
        return TrendFit(level, slope, float(np.quantile(slopes, 0.1)), float(np.quantile(slopes, 0.9)), residual_sd)

    def reach_probability(self, level: float, limit: float) -> float:
        """Share of past cycles at least this high (or in the upper half) that went on to the limit.

        1 with no history, and 1 far beyond every earlier cycle: that is new territory.
        """
        if not self.peaks:
            return 1.0
        peaks = np.array([peak for peak, _ in self.peaks])
        reached = np.array([r for _, r in self.peaks])
        top = peaks.max()
        if level > top + 0.5 * (limit - top):
            return 1.0
        comparable = peaks >= min(level, float(np.median(peaks)))
        return (int(reached[comparable].sum()) + 1) / (int(comparable.sum()) + 1)


@lru_cache(maxsize=None)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(n, 1)


@lru_cache(maxsize=None)
def _strided(n: int, k: int) -> np.ndarray:
    return np.linspace(0, n - 1, k).round().astype(int)


def _median(a: np.ndarray) -> float:
    """Median of a small array; np.median's overhead dominates at these sizes."""
    s = np.sort(a)
    return float(s[(s.size - 1) // 2] + s[s.size // 2]) / 2


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Median pairwise slope with its 80% interval (Sen 1968, as scipy.stats.theilslopes)."""
    i, j = _pairs(x.size)
    dx = x[j] - x[i]
    ok = dx != 0
    slopes = np.sort((y[j] - y[i])[ok] / dx[ok])
    m = slopes.size
    if m == 0:
        return 0.0, 0.0, 0.0
    n = x.size
    sigma = math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    low = slopes[max(int(round((m - _Z80 * sigma) / 2.0)), 0)]
    high = slopes[min(int(round((m + _Z80 * sigma) / 2.0)) - 1, m - 1)]
    return float(slopes[(m - 1) // 2] + slopes[m // 2]) / 2, float(low), float(high)


def fit_trend(t: np.ndarray, v: np.ndarray, now: float) -> TrendFit:
    if t.size > _MAX_FIT_POINTS:
        idx = _strided(t.size, _MAX_FIT_POINTS)
        t, v = t[idx], v[idx]
    x = t - now  # centre on now for numerical stability
    slope, low, high = theil_sen(x, v)
    level = _median(v - slope * x)
    residuals = v - (level + slope * x)
    residual_sd = 1.4826 * _median(np.abs(residuals - _median(residuals)))
    return TrendFit(level, slope, low, high, residual_sd)


def fit_multiscale(t: np.ndarray, v: np.ndarray, now: float, min_points: int,
                   long: tuple[np.ndarray, np.ndarray] | None = None) -> TrendFit:
    """Trends over the whole window and its recent half and quarter.

    The central slope is their median; the range spans all of their intervals, so an
    accelerating (or slowing) series widens the range instead of hiding behind one fit.
    `long`, a day of deseasonalised history, gives the central slope when present: on a
    series with a daily cycle, a short window is ruled by how well the profile fits.
    """
    span = now - t[0]
    fits = [fit_trend(t, v, now)]
    for share in (0.5, 0.25):
        recent = t >= now - share * span
        if recent.sum() >= min_points:
            fits.append(fit_trend(t[recent], v[recent], now))
    central = fits[int(np.argsort([f.slope for f in fits])[len(fits) // 2])]
    if long is not None and long[0].size >= min_points:
        day_fit = fit_trend(long[0], long[1], now)
        central = TrendFit(central.level, day_fit.slope, day_fit.slope_low, day_fit.slope_high, central.residual_sd)
        fits.append(day_fit)
    return TrendFit(level=central.level, slope=central.slope,
                    slope_low=min(f.slope_low for f in fits), slope_high=max(f.slope_high for f in fits),
                    residual_sd=max(f.residual_sd for f in fits))


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


@dataclass
class GrowthCalibration:
    """How this series' realised growth compared with the slope forecast from it.

    Each evaluation leaves a forecast; `check_after` later, the realised change divided by
    the forecast change is one multiplier. Their quantiles scale the slope, so the TTF
    range reflects this series' own track record (acceleration, bursts) rather than the
    fit's optimism. A reset discards pending forecasts.
    """
    check_after: float
    min_samples: int = 20
    pending: deque = field(default_factory=deque)  # (time, level, slope)
    multipliers: deque = field(default_factory=lambda: deque(maxlen=150))  # the recent record: a few hours of evaluations
    _sorted: np.ndarray | None = None  # cache of sorted multipliers, cleared on change

    def observe(self, now: float, value: float, reset_since: float, noise: float):
        while self.pending and self.pending[0][0] <= now - self.check_after:
            t, level, slope = self.pending.popleft()
            expected = slope * (now - t)
            if t >= reset_since and expected > 2 * noise and expected > 0:
                self.multipliers.append((value - level) / expected)
                self._sorted = None

    def remember(self, now: float, level: float, slope: float):
        self.pending.append((now, level, slope))

    def ready(self) -> bool:
        return len(self.multipliers) >= self.min_samples

    def _values(self) -> np.ndarray:
        if self._sorted is None:
            self._sorted = np.sort(np.fromiter(self.multipliers, float))
        return self._sorted

    def quantile(self, q: float) -> float:
        return float(np.quantile(self._values(), q))

    def share_at_least(self, needed: float) -> float:
        m = self._values()
        below = int(np.searchsorted(m, needed))
        return (m.size - below + 0.5) / (m.size + 1)


@dataclass
class _TargetState:
    """What the predictor remembers about one target between evaluations."""
    calibration: GrowthCalibration  # the track record of the robust trend (and cycle-history) rates
    refit_phase: float  # staggers refits so targets do not all refit in the same loop
    fit: TrendFit | None = None
    fit_time: float = -math.inf
    next_refit: float = -math.inf
    reset_since: float = -math.inf
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


class ExhaustionPredictor(Predictor):
    Config = ExhaustionConfig

    def __init__(self, config):
        super().__init__(config)
        self._targets: dict[tuple, _TargetState] = {}
        self._limit_index: tuple[int, dict] = (-1, {})
        self.model_fit_errors = 0  # statsmodels fits that raised: counted, and the candidate skipped
        if set(config.candidates) - {ROBUST}:
            load_statsmodels()

    def selectors(self) -> list:
        return [s for s in (self.config.series, self.config.limit_series) if s is not None]

    def limit_for(self, labels: dict, store: SeriesStore) -> float | None:
        if self.config.limit is not None:
            return self.config.limit
        match_on = self.config.limit_match_on
        limits = store.matching(self.config.limit_series)
        if self._limit_index[0] != len(limits):  # index once per new limit series, not per target
            index = {tuple(dict(key[1]).get(n, "") for n in match_on): w for key, w in limits}
            self._limit_index = (len(limits), index)
        window = self._limit_index[1].get(tuple(labels.get(n, "") for n in match_on))
        return window.last_value if window is not None else None

    def _state(self, labels: dict) -> _TargetState:
        key = tuple(sorted(labels.items()))
        state = self._targets.get(key)
        if state is None:
            phase = zlib.crc32(repr(key).encode()) % 1000 / 1000 * self.config.refit_every
            cfg = self.config
            state = self._targets[key] = _TargetState(GrowthCalibration(check_after=cfg.lookback), phase)
            state.selector = ModelSelector(horizons=(cfg.selection_horizon / 2, cfg.selection_horizon), default=ROBUST)
        return state

    def _refit(self, state: _TargetState, window: Window, sign: float, limit: float, now: float) -> bool:
        """Refit the trend on the mirrored series since its last reset; the daily profile hourly."""
        cfg = self.config
        if now >= state.profile_due:
            t, v = window.arrays(since=now - cfg.season_history)
            state.profile = self._fit_profile(t, sign * v, now)  # resets are part of a daily pattern
            # Staggered like the trend refits, so targets do not all refit in the same hour's minute.
            first = state.profile_due == -math.inf
            share = state.refit_phase / cfg.refit_every if first else 1.0
            state.profile_due = now + max(share, 0.01) * cfg.season_refit_every
        t, v = window.arrays(since=now - cfg.lookback)
        v = sign * v
        reset = last_reset(t, v, cfg.reset_drop_ratio * abs(limit))
        if reset is not None:
            peak, bottom = reset
            state.resets.record(float(t[peak]), float(v[peak]), sign * limit, float(t[bottom]), float(v[bottom]))
            t, v = t[bottom:], v[bottom:]
        if state.profile is not None:
            v = v - state.profile.at(t)
        young_cycle = state.resets.cycle_start is not None and now - state.resets.cycle_start[0] < cfg.lookback / 2
        prior = None
        if young_cycle:
            prior = state.resets.prior_fit(t, v, now, state.fit.residual_sd if state.fit else 0.0)
        if t.size < cfg.min_points and prior is None:
            state.fit = None
            return False
        first = state.fit_time == -math.inf
        if reset is not None and float(t[0]) > state.reset_since:
            state.rates, state.models_due = {}, -math.inf  # rates from before a reset are void
        if prior is not None:  # too little of this cycle yet: its predecessors speak for it
            fit, state.model = prior, CYCLE_HISTORY
        else:
            long = self._deseasonalised_day(state, window, sign, limit, now) if state.profile is not None else None
            fit = fit_multiscale(t, v, now, cfg.min_points, long)
            fit = self._select_model(state, window, sign, limit, now, fit, first)
        state.fit, state.fit_time, state.reset_since = fit, now, float(t[0])
        # The first refit comes after a per-target phase; later ones keep that stagger.
        state.next_refit = now + (state.refit_phase if first else cfg.refit_every)
        return True

    def _deseasonalised_day(self, state: _TargetState, window: Window, sign: float, limit: float, now: float):
        """The last day since the last reset, with the daily profile taken out."""
        t, v = self._since_reset(window, sign, limit, now - DAY)
        return t, v - state.profile.at(t)

    def _since_reset(self, window: Window, sign: float, limit: float, since: float):
        t, v = window.arrays(since=since)
        v = sign * v
        reset = last_reset(t, v, self.config.reset_drop_ratio * abs(limit))
        if reset is not None:
            t, v = t[reset[1]:], v[reset[1]:]
        return t, v

    def _select_model(self, state: _TargetState, window: Window, sign: float, limit: float, now: float,
                      robust: TrendFit, first: bool) -> TrendFit:
        """Refresh the candidates' rates when due, then take the central rate from the choice.

        The statsmodels candidates refit every `model_refit_every` (staggered); each refit is
        an origin of the rolling-origin record. Between refits a chosen candidate's rate is held.
        """
        cfg = self.config
        if now >= state.models_due:
            if first:  # stagger the first statsmodels fits across targets, like the trend refits
                state.models_due = now + state.refit_phase / cfg.refit_every * cfg.model_refit_every
            else:
                state.rates = self._candidate_rates(state, window, sign, limit, now, robust)
                state.selector.remember(now, robust.level, state.rates)
                state.models_due = now + cfg.model_refit_every
        state.robust_fit = robust
        choice = state.selector.choose()
        rate = state.rates.get(choice) if choice != ROBUST else None
        if rate is None:
            state.model = ROBUST
            return robust
        state.model = choice
        # The range keeps the robust fits' doubt and reaches the chosen rate.
        return TrendFit(robust.level, rate, min(robust.slope_low, rate), max(robust.slope_high, rate), robust.residual_sd)

    def _candidate_rates(self, state: _TargetState, window: Window, sign: float, limit: float, now: float,
                         robust: TrendFit) -> dict:
        cfg = self.config
        rates = {ROBUST: robust.slope}
        if ETS in cfg.candidates:
            t, v = self._since_reset(window, sign, limit, now - DAY)
            if state.profile is not None:
                v = v - state.profile.at(t)
            rates[ETS] = self._safely(ets_damped_rate, t, v, cfg.selection_horizon)
        # STL's job is to separate a daily cycle from the trend: fitted where one was found.
        if STL_TREND in cfg.candidates and state.profile is not None:
            t, v = self._since_reset(window, sign, limit, now - cfg.season_history)
            rates[STL_TREND] = self._safely(stl_trend_rate, t, v)
        return rates

    def _safely(self, fit, *args) -> float | None:
        """A candidate's rate, or None when its fit fails on odd data: the service keeps running."""
        try:
            rate = fit(*args)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            self.model_fit_errors += 1
            return None
        return rate if rate is None or math.isfinite(rate) else None

    def _fit_profile(self, t: np.ndarray, v: np.ndarray, now: float) -> DailyProfile | None:
        if t.size < 2 or now - t[0] < 2 * DAY:
            return None
        # The slow trend, blind to the time of day: the change between whole-day means.
        first, last = t < t[0] + DAY, t >= now - DAY
        slope = (v[last].mean() - v[first].mean()) / (t[last].mean() - t[first].mean())
        return fit_daily_profile(t, v, slope)

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        cfg = self.config
        limit = self.limit_for(labels, store)
        if limit is None:
            return None
        sign = 1.0 if cfg.direction == "up" else -1.0  # a draining resource is mirrored
        drop = cfg.reset_drop_ratio * abs(limit)
        state = self._state(labels)
        last = sign * window.last_value
        # Refit on schedule (amortised), or at once when the series drops (a reset).
        due = state.fit is None or now >= state.next_refit or last < state.level_at(now) + state.season_at(now) - drop
        if due and not self._refit(state, window, sign, limit, now):
            return None
        fit = state.fit
        level = state.level_at(now)
        last_cycle = state.resets.cycle_start[0] if state.resets.cycle_start is not None else -math.inf
        state.selector.observe(now, last - state.season_at(now), reset_since=last_cycle)
        robust_family = state.model in (ROBUST, CYCLE_HISTORY)
        # Every candidate's track record is kept against the robust fit's level and range, so
        # the robust record is the same whichever candidate is chosen.
        robust = fit if robust_family else state.robust_fit
        robust_level = robust.level + robust.slope * (now - state.fit_time)
        rates = {ROBUST: robust.slope}
        rates.update((name, rate) for name, rate in state.rates.items() if name != ROBUST)
        for name, rate in rates.items():
            record = state.calibration_for(name)
            record.observe(now, robust_level, reset_since=state.reset_since, noise=robust.residual_sd)
            if rate is not None and robust.slope_high - robust.slope_low <= abs(rate):
                # Learn only from forecasts made while the scales agreed: one made across a
                # change of regime (flat, then a ramp) says nothing about the series' habits.
                record.remember(now, robust_level, rate)
        model = state.model
        if not robust_family and fit.slope < robust.slope_low:
            # The chosen rate is below the robust trend's whole range: it has not caught up
            # with a change (a leak that began after a long flat spell). Until it does, the
            # robust trend speaks for this target: time to failure and probability alike.
            fit, level, model, robust_family = robust, robust_level, ROBUST, True
        calibration = state.calibration_for(model)
        track = calibration if calibration.ready() and fit.slope > 0 else None
        path = CrossingPath(sign * limit, level, now, cfg.horizon, state.profile)
        ttf = {0.1: path.time_to_cross(fit.slope_high), 0.5: path.time_to_cross(fit.slope),
               0.9: path.time_to_cross(fit.slope_low)}
        if track is not None:  # the track record sets the centre; the range covers both sources of doubt
            by_record = {q: path.time_to_cross(fit.slope * track.quantile(1 - q)) for q in TTF_QUANTILES}
            ttf = by_record
        policy = cfg.policy
        windows = set(PUBLISHED_HORIZONS) | {policy.critical_within, policy.warning_within, policy.info_within}
        # Past cycles that stopped short of the limit make this one likely to stop short too.
        reach = state.resets.reach_probability(level + state.season_at(now), sign * limit)
        probability = {w: reach * path.probability(fit, w, track) for w in sorted(windows)}
        if not robust_family:
            # An alert needs the robust trend to agree: a forecaster chosen on its average
            # error can still be the one that overreacts to a step or a burst, and the
            # robust trend's own track record is the longest this target has.
            robust_path = CrossingPath(sign * limit, robust_level, now, cfg.horizon, state.profile)
            robust_track = state.calibration if state.calibration.ready() and robust.slope > 0 else None
            # An imminent crossing (within critical_within) is judged by the robust trend
            # alone: a challenger that adapts slowly to a fresh ramp must not hold back a page.
            robust_probability = {w: reach * robust_path.probability(robust, w, robust_track) for w in probability}
            probability = {w: robust_probability[w] if w <= policy.critical_within else min(p, robust_probability[w])
                           for w, p in probability.items()}
        if reach < 1.0:  # quantiles of a mixture: with 1 - reach, no crossing at all
            conditional = dict(ttf)
            ttf = {q: conditional[min(TTF_QUANTILES, key=lambda c: abs(c - q / reach))] if q <= reach else math.inf
                   for q in TTF_QUANTILES}
        forecast = {}
        for h in PUBLISHED_HORIZONS:
            mean, spread = level + fit.slope * h + state.season_at(now + h), fit.spread(h)
            for q, z in zip(TTF_QUANTILES, (-_Z80, 0.0, _Z80)):
                forecast[(h, q)] = sign * (mean + z * spread)
        if sign < 0:  # mirror the quantiles back: the low forecast of -v is the high of v
            forecast = {(h, q): forecast[(h, round(1 - q, 1))] for h, q in forecast}
        prediction = Prediction(
            failures_seen=sum(reached for _, reached in state.resets.peaks),
            predictor=cfg.name, labels=output_labels(labels), timestamp=now,
            observed=window.last_value, limit=limit, trend_per_second=sign * fit.slope,
            ttf=ttf, probability=probability, forecast=forecast,
        )
        prediction.model = model  # which forecaster set the central rate
        return prediction
