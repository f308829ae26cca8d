"""`exhaustion`: forecast a resource towards its limit and give time to failure.

The model is a robust trend: Theil-Sen lines over the recent window (since the last
reset) and its recent half and quarter. Their median slope is the forecast; their 80%
slope intervals give the first range. Once a series has a track record, the quantiles
of its realised-to-forecast growth (GrowthCalibration) set the central time to failure
and widen the range. Seasonal models (ETS, MSTL) are not in yet.
"""
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from ..config import Fields, PredictorConfig
from ..selectors import Selector
from ..series import SeriesStore, Window
from .base import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction, Predictor, output_labels

_Z80 = 1.2815515655446004  # the 0.9 quantile of the standard normal
_MAX_FIT_POINTS = 150  # Theil-Sen is O(n^2); a strided sample keeps the fit cheap


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
        )
        f.reject_unknown()
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


def since_last_reset(t: np.ndarray, v: np.ndarray, drop: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the points after the last sudden drop (an OOM kill, a restart, a cleanup)."""
    drops = np.flatnonzero(np.diff(v) < -drop)
    if drops.size:
        start = drops[-1] + 1
        return t[start:], v[start:]
    return t, v


def fit_trend(t: np.ndarray, v: np.ndarray, now: float) -> TrendFit:
    if t.size > _MAX_FIT_POINTS:
        idx = np.linspace(0, t.size - 1, _MAX_FIT_POINTS).round().astype(int)
        t, v = t[idx], v[idx]
    x = t - now  # centre on now for numerical stability
    slope, _, low, high = stats.theilslopes(v, x, alpha=0.8)
    level = float(np.median(v - slope * x))
    residuals = v - (level + slope * x)
    residual_sd = 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))
    return TrendFit(level, float(slope), float(low), float(high), residual_sd)


def fit_multiscale(t: np.ndarray, v: np.ndarray, now: float, min_points: int) -> TrendFit:
    """Trends over the whole window and its recent half and quarter.

    The central slope is their median; the range spans all of their intervals, so an
    accelerating (or slowing) series widens the range instead of hiding behind one fit.
    """
    span = now - t[0]
    fits = [fit_trend(t, v, now)]
    for share in (0.5, 0.25):
        recent = t >= now - share * span
        if recent.sum() >= min_points:
            fits.append(fit_trend(t[recent], v[recent], now))
    central = fits[int(np.argsort([f.slope for f in fits])[len(fits) // 2])]
    return TrendFit(level=central.level, slope=central.slope,
                    slope_low=min(f.slope_low for f in fits), slope_high=max(f.slope_high for f in fits),
                    residual_sd=max(f.residual_sd for f in fits))


def crossing_probability(fit: TrendFit, gap: float, seconds: float) -> float:
    """P(the series is past the limit `gap` away within `seconds`), under the trend."""
    if gap <= 0:
        return 1.0
    spread = fit.spread(seconds)
    mean_gap = gap - fit.slope * seconds
    if spread <= 0:
        return 1.0 if mean_gap <= 0 else 0.0
    return float(stats.norm.sf(mean_gap / spread))


def time_to_cross(gap: float, slope: float, horizon: float) -> float:
    if gap <= 0:
        return 0.0
    if slope <= 0:
        return math.inf
    seconds = gap / slope
    return seconds if seconds <= horizon else math.inf


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
    multipliers: deque = field(default_factory=lambda: deque(maxlen=300))

    def observe(self, now: float, value: float, reset_since: float, noise: float):
        while self.pending and self.pending[0][0] <= now - self.check_after:
            t, level, slope = self.pending.popleft()
            expected = slope * (now - t)
            if t >= reset_since and expected > 2 * noise and expected > 0:
                self.multipliers.append((value - level) / expected)

    def remember(self, now: float, level: float, slope: float):
        self.pending.append((now, level, slope))

    def ready(self) -> bool:
        return len(self.multipliers) >= self.min_samples

    def quantile(self, q: float) -> float:
        return float(np.quantile(np.fromiter(self.multipliers, float), q))

    def share_at_least(self, needed: float) -> float:
        m = np.fromiter(self.multipliers, float)
        return float(((m >= needed).sum() + 0.5) / (m.size + 1))


class ExhaustionPredictor(Predictor):
    Config = ExhaustionConfig

    def __init__(self, config):
        super().__init__(config)
        self._calibration: dict[tuple, GrowthCalibration] = {}

    def selectors(self) -> list:
        return [s for s in (self.config.series, self.config.limit_series) if s is not None]

    def limit_for(self, labels: dict, store: SeriesStore) -> float | None:
        if self.config.limit is not None:
            return self.config.limit
        for key, window in store.matching(self.config.limit_series):
            limit_labels = dict(key[1])
            if all(limit_labels.get(n, "") == labels.get(n, "") for n in self.config.limit_match_on):
                return window.last_value
        return None

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        cfg = self.config
        limit = self.limit_for(labels, store)
        if limit is None:
            return None
        t, v = window.arrays(since=now - cfg.lookback)
        sign = 1.0 if cfg.direction == "up" else -1.0  # a draining resource is mirrored
        t, v = since_last_reset(t, sign * v, cfg.reset_drop_ratio * abs(limit))
        if t.size < cfg.min_points:
            return None
        fit = fit_multiscale(t, v, now, cfg.min_points)
        gap = sign * limit - fit.level
        calibration = self._calibration.setdefault(tuple(sorted(labels.items())),
                                                   GrowthCalibration(check_after=cfg.lookback / 2))
        calibration.observe(now, v[-1], reset_since=t[0], noise=fit.residual_sd)
        calibration.remember(now, fit.level, fit.slope)
        calibrated = calibration.ready() and fit.slope > 0
        ttf = {
            0.1: time_to_cross(gap, fit.slope_high, cfg.horizon),
            0.5: time_to_cross(gap, fit.slope, cfg.horizon),
            0.9: time_to_cross(gap, fit.slope_low, cfg.horizon),
        }
        if calibrated:  # the track record sets the centre; the range covers both sources of doubt
            track = {q: time_to_cross(gap, fit.slope * calibration.quantile(1 - q), cfg.horizon) for q in TTF_QUANTILES}
            ttf = {0.1: min(ttf[0.1], track[0.1]), 0.5: track[0.5], 0.9: max(ttf[0.9], track[0.9])}
        policy = cfg.policy
        windows = set(PUBLISHED_HORIZONS) | {policy.critical_within, policy.warning_within, policy.info_within}
        if calibrated:
            probability = {w: 1.0 if gap <= 0 else calibration.share_at_least(gap / (fit.slope * w))
                           for w in sorted(windows)}
        else:
            probability = {w: crossing_probability(fit, gap, w) for w in sorted(windows)}
        forecast = {}
        for h in PUBLISHED_HORIZONS:
            mean, spread = fit.level + fit.slope * h, fit.spread(h)
            for q, z in zip(TTF_QUANTILES, (-_Z80, 0.0, _Z80)):
                forecast[(h, q)] = sign * (mean + z * spread)
        if sign < 0:  # mirror the quantiles back: the low forecast of -v is the high of v
            forecast = {(h, q): forecast[(h, round(1 - q, 1))] for h, q in forecast}
        return Prediction(
            predictor=cfg.name, labels=output_labels(labels), timestamp=now,
            observed=window.last_value, limit=limit, trend_per_second=sign * fit.slope,
            ttf=ttf, probability=probability, forecast=forecast,
        )
