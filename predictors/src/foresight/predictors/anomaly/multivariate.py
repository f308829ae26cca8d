"""Multivariate anomaly scores over a group of related series, with SHAP attributions.

A streaming Isolation Forest: feature vectors (see features.py) are buffered over a
bounded history; the forest is refitted on that history every `refit_every` seconds
of event time once `min_history` exists. New vectors are scored against held-out
history: the empirical tail probability p of the vector's strangeness, mapped to a score
on the univariate detector's log scale, -log10(p) / score_decades (1 at p = 1e-10 by
default), so that one policy threshold means the same for both. (A linear 1 - p would
put one normal point in ten above a threshold of 0.9.) SHAP attributions
(shap.TreeExplainer) are computed only for high scores or on request, because they cost
more than scoring.

An Isolation Forest dilutes a strong anomaly in one feature among many normal ones
(a tree rarely splits on that feature before its depth limit). With `robust_tail` on,
each feature's robust z against the training data is scored as well, and the final
score combines both tail probabilities (Bonferroni: twice the smaller one). The
attributions always come from the forest.
"""
import logging
import math
import time
import zlib
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from .features import WindowFeatures
from .forest_arrays import FlatForest, load_in_background
from .settings import MultivariateSettings

log = logging.getLogger(__name__)

_MIN_CALIBRATION = 32  # held-out vectors needed for a usable tail probability
_MAD_TO_SIGMA = 1.4826


def _tail_probability(sorted_scores: np.ndarray, value: float) -> float:
    """Share of calibration scores at least as strange as `value` (an empirical p-value).

    Beyond the top tenth of the calibration scores the tail is extrapolated as an
    exponential fitted to those top scores, so that scores keep their order past the
    strangest calibration point instead of all stopping at 1 - 1/(n + 1).
    """
    n = len(sorted_scores)
    top = max(5, n // 10)
    if n > 2 * top:
        threshold = sorted_scores[n - top - 1]
        if value > threshold:
            excess = float(np.mean(sorted_scores[n - top:] - threshold))
            if excess > 0:
                return float(top / (n + 1) * math.exp(-(value - threshold) / excess))
    at_least = n - np.searchsorted(sorted_scores, value, side="left")
    return float((at_least + 1) / (n + 1))


@dataclass
class MultivariateResult:
    timestamp: float
    score: float  # [0, 1]: -log10(tail probability) / score_decades (forest and robust z combined)
    attributions: dict = field(default_factory=dict)  # feature -> ratio (sums to 1); empty when not explained
    series_attributions: dict = field(default_factory=dict)  # source series -> summed ratio
    raw_score: float = float("nan")  # the forest's own anomaly score (negated score_samples)
    forest_score: float = float("nan")  # the same score from the forest's tail probability alone
    tail_score: float = float("nan")  # the same score from the largest robust z's tail (nan when off)


class StepTimer:
    """Count, total and worst duration of one kind of step (process CPU-bound work)."""

    def __init__(self):
        self.count, self.total, self.worst = 0, 0.0, 0.0

    def add(self, seconds: float):
        self.count += 1
        self.total += seconds
        self.worst = max(self.worst, seconds)

    def summary(self) -> dict:
        mean = self.total / self.count if self.count else 0.0
        return {"count": self.count, "mean_s": mean, "max_s": self.worst, "total_s": self.total}


class MultivariateDetector:
    """Streaming multivariate anomaly scores with attributions for one group of series."""

    def __init__(self, series_names: list[str], settings: MultivariateSettings | None = None, group: str = ""):
        """`group` names the group (e.g. its service) in logs and staggers its fits.

        Groups started together would otherwise all fit in the same minute; the first
        fit waits a fraction of `first_fit_spread` and the first refit comes after a
        fraction of `refit_every`, both derived from `group`, so the fits of many
        groups spread out.
        """
        self.settings = settings or MultivariateSettings()
        s = self.settings
        self.features = WindowFeatures(series_names, window=s.window, step=s.step, season=s.season,
                                       season_days=s.season_days, carry_forward=s.carry_forward)
        self.feature_names = self.features.names
        self.feature_sources = self.features.sources
        # Bounded even if samples arrive faster than `step`.
        self._buffer: deque = deque(maxlen=max(s.min_vectors, int(2 * s.history / s.step) + 1))
        self._model = None  # the fitted sklearn.ensemble.IsolationForest
        self._forest: FlatForest | None = None  # the same forest as arrays: cheap scores and explainer
        self._explainer = None
        self._train_scores: np.ndarray | None = None
        self._centre = self._scale = self._train_tails = None
        self.group = group
        self.fitted_at: float | None = None
        self._next_fit: float | None = None
        self._stagger = (zlib.crc32(group.encode()) % 1000) / 1000.0
        self.last_vector: np.ndarray | None = None
        self.last_timestamp: float | None = None
        self.timings = {"features": StepTimer(), "fit": StepTimer(), "score": StepTimer(),
                        "explainer": StepTimer(), "shap": StepTimer()}
        load_in_background("sklearn.ensemble", "shap")  # the first fit is hours of event time away

    @property
    def counts(self) -> Counter:
        """Skipped and repaired input, by reason."""
        return self.features.counts

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def update(self, timestamp: float, values: dict, score: bool = True) -> MultivariateResult | None:
        """Feed one aligned sample; returns a result once fitted and the vector is complete.

        `score=False` only updates the features and the history (scoring costs ~5 ms): for
        a backlog of points of which only the newest needs a score."""
        started = time.perf_counter()
        vector = self.features.update(timestamp, values)
        self.timings["features"].add(time.perf_counter() - started)
        if vector is None:
            return None
        self._buffer.append((float(timestamp), vector))
        while self._buffer and self._buffer[0][0] <= timestamp - self.settings.history:
            self._buffer.popleft()
        self.last_vector, self.last_timestamp = vector, float(timestamp)
        if self._due_for_fit(timestamp):
            try:
                self._fit(timestamp)
            except (ValueError, FloatingPointError) as exc:
                # Keep serving with the previous model (if any); try again next refit.
                self.counts["failed fit"] += 1
                self._next_fit = float(timestamp) + self.settings.refit_every
                log.warning("%s: refit at %s failed: %s", self.group or "group", timestamp, exc)
        if self._model is None or not score:
            return None
        result = self.score(vector, timestamp)
        if result.score >= self.settings.explain_above:
            self._attach_attributions(result, vector)
        return result

    def score(self, vector: np.ndarray, timestamp: float) -> MultivariateResult:
        if self._model is None:
            raise RuntimeError("the detector has not been fitted yet")
        started = time.perf_counter()
        raw = self._forest.score(vector)  # equal to -score_samples, without its per-call overhead
        forest_tail = _tail_probability(self._train_scores, raw)
        tail, robust_tail = forest_tail, math.nan
        if self._train_tails is not None:
            robust_tail = _tail_probability(self._train_tails, self._largest_z(vector.reshape(1, -1))[0])
            tail = min(1.0, 2.0 * min(forest_tail, robust_tail))
        self.timings["score"].add(time.perf_counter() - started)
        return MultivariateResult(timestamp=float(timestamp), score=self._to_score(tail), raw_score=raw,
                                  forest_score=self._to_score(forest_tail), tail_score=self._to_score(robust_tail))

    def _to_score(self, tail: float) -> float:
        if math.isnan(tail):
            return math.nan
        return float(min(1.0, -math.log10(min(max(tail, 1e-300), 1.0)) / self.settings.score_decades))

    def explain_latest(self) -> MultivariateResult | None:
        """Score and attribute the newest vector regardless of `explain_above`."""
        if self._model is None or self.last_vector is None:
            return None
        result = self.score(self.last_vector, self.last_timestamp)
        self._attach_attributions(result, self.last_vector)
        return result

    def attributions(self, vector: np.ndarray) -> dict:
        """Feature -> share of the anomaly (sums to 1), or {} when there is nothing to share."""
        if self._model is None:
            raise RuntimeError("the detector has not been fitted yet")
        if self._explainer is None:
            started = time.perf_counter()
            self._explainer = self._forest.explainer()  # shap.TreeExplainer(forest), built from arrays
            self.timings["explainer"].add(time.perf_counter() - started)
        started = time.perf_counter()
        phi = np.asarray(self._explainer.shap_values(vector.reshape(1, -1)), dtype=float).reshape(-1)
        self.timings["shap"].add(time.perf_counter() - started)
        # Negative contributions shorten isolation paths, i.e. make the point look anomalous.
        weights = np.clip(-phi, 0, None) if self.settings.attribution == "anomalous" else np.abs(phi)
        total = float(weights.sum())
        if not (total > 0 and math.isfinite(total)):
            return {}
        return {name: float(w / total) for name, w in zip(self.feature_names, weights)}

    def series_shares(self, attributions: dict) -> dict:
        """Feature ratios summed per source series."""
        shares: dict = {}
        for name, source in zip(self.feature_names, self.feature_sources):
            if name in attributions:
                shares[source] = shares.get(source, 0.0) + attributions[name]
        return shares

    def timing_summary(self) -> dict:
        return {name: timer.summary() for name, timer in self.timings.items()}

    # -- checkpoints: the forest is refitted, never stored (scikit-learn models have no
    # safe serialised form but pickle) -----------------------------------------------
    _FITTED = ("_model", "_forest", "_explainer", "_train_scores", "_centre", "_scale", "_train_tails")

    def to_state(self) -> dict:
        """Everything but the fitted forest and what was computed with it."""
        return {k: v for k, v in vars(self).items() if k not in self._FITTED}

    @classmethod
    def from_state(cls, state: dict) -> "MultivariateDetector":
        """The detector `to_state` described, its forest refitted on the feature vectors of
        its last fit that the history still holds (all of them unless the history moved
        on since): with the same random_state, the same forest or one very close to it."""
        bad = [k for k in state if not isinstance(k, str) or not k.isidentifier() or k.startswith("__")]
        if bad or not isinstance(state.get("_buffer"), deque):
            raise ValueError(f"multivariate detector state: bad attributes {bad!r} or no vector history")
        detector = cls.__new__(cls)
        vars(detector).update(state)
        for name in cls._FITTED:
            setattr(detector, name, None)
        if detector.fitted_at is not None:
            history, next_fit = detector._buffer, detector._next_fit
            detector._buffer = deque(item for item in history if item[0] <= detector.fitted_at)
            try:
                if len(detector._buffer) >= detector.settings.min_vectors:
                    detector._fit(detector.fitted_at)
            except (ValueError, FloatingPointError) as exc:  # unfitted until its next refit, as after a failed one
                log.warning("%s: refit on restore failed: %s", detector.group or "group", exc)
            finally:
                detector._buffer, detector._next_fit = history, next_fit
        return detector

    def _attach_attributions(self, result: MultivariateResult, vector: np.ndarray):
        result.attributions = self.attributions(vector)
        result.series_attributions = self.series_shares(result.attributions)

    def _due_for_fit(self, timestamp: float) -> bool:
        s = self.settings
        wait = s.min_history + (s.first_fit_spread * self._stagger if self.fitted_at is None else 0.0)
        if len(self._buffer) < s.min_vectors or timestamp - self._buffer[0][0] < wait:
            return False
        return self._next_fit is None or timestamp >= self._next_fit

    def _largest_z(self, rows: np.ndarray) -> np.ndarray:
        return np.max(np.abs(rows - self._centre) / self._scale, axis=1)

    def _calibration_rows(self, times: np.ndarray) -> np.ndarray:
        s = self.settings
        blocks = ((times[-1] - times) // s.refit_every).astype(int)  # block 0 is the newest
        held_out = blocks % s.calibration_every == s.calibration_every - 1
        if held_out.sum() < _MIN_CALIBRATION or (~held_out).sum() < _MIN_CALIBRATION:
            # Too short a history for whole blocks: hold out every k-th vector instead.
            held_out = np.arange(len(times)) % s.calibration_every == s.calibration_every - 1
        return held_out

    def _fit(self, timestamp: float):
        s = self.settings
        started = time.perf_counter()
        matrix = np.vstack([v for _, v in self._buffer])
        times = np.fromiter((t for t, _ in self._buffer), dtype=float)
        held_out = self._calibration_rows(times)
        training = matrix[~held_out]
        from sklearn.ensemble import IsolationForest  # waits for load_in_background if still importing

        model = IsolationForest(n_estimators=s.trees, max_samples=min(s.max_samples, len(training)),
                                random_state=s.random_state)
        model.fit(training)
        self._train_scores = np.sort(-model.score_samples(matrix[held_out]))
        if s.robust_tail:
            self._centre = np.median(training, axis=0)
            spread = _MAD_TO_SIGMA * np.median(np.abs(training - self._centre), axis=0)
            # A floor keeps a flat training feature from making any wiggle look infinite.
            self._scale = np.maximum(spread, np.maximum(1e-9, 1e-3 * np.abs(self._centre)))
            self._train_tails = np.sort(self._largest_z(matrix[held_out]))
        first = self.fitted_at is None
        self._model, self._forest, self._explainer, self.fitted_at = model, FlatForest(model), None, float(timestamp)
        delay = s.refit_every * (self._stagger if first else 1.0)
        self._next_fit = float(timestamp) + max(delay, s.step)
        self.timings["fit"].add(time.perf_counter() - started)
        log.debug("%s: refitted on %d vectors at %s", self.group or "group", len(matrix), timestamp)
