"""Drift detection: is a target's live track record still what its model promised?

Each target of each predictor is watched on three streams (fed by lifecycle.scorecard):
- `forecast_error`: the 1 h median forecast's absolute error scaled by the error of the
  forecast that nothing changes (as runtime.scoring's MASE), capped at `ERROR_CAP`;
- `coverage`: 1 when the value 1 h later fell outside the p10-p90 forecast range, else 0,
  against the nominal 20% misses of an 80% range;
- `alarm_rate`: 1 when an evaluation raised an alert (risk level entered from 0), else 0,
  against the expected rate per evaluation.

Each stream has a Page-Hinkley test for a rise of its mean. A detection sets the target's
flag for that stream for `hold` seconds of event time (the detector then starts again),
so foresight_model_drift stays 1 long enough to be scraped, alerted on and acted upon.
"""
import math
from dataclasses import dataclass, field

ERROR_CAP = 10.0
SIGNALS = ("forecast_error", "coverage", "alarm_rate")
NOMINAL_MISSES = 0.2  # a p10-p90 range misses 20% of the time when calibrated


class PageHinkley:
    """Page-Hinkley test for a rise in a stream's mean.

    cum = sum(x - reference - delta), with the reference the running mean of the stream
    (or a known expected mean); it fires when cum rises more than `threshold` above its
    lowest value, after at least `min_samples` values."""

    def __init__(self, delta: float, threshold: float, min_samples: int = 30, reference: float | None = None):
        self.delta, self.threshold, self.min_samples, self.reference = delta, threshold, min_samples, reference
        self.reset()

    def reset(self):
        self.n, self.mean, self.cum, self.low = 0, 0.0, 0.0, 0.0

    def add(self, x: float) -> bool:
        """Take one value; True when the test fires (the caller decides whether to reset)."""
        self.n += 1
        self.mean += (x - self.mean) / self.n
        expected = self.mean if self.reference is None else self.reference
        self.cum += x - expected - self.delta
        self.low = min(self.low, self.cum)
        return self.n >= self.min_samples and self.cum - self.low > self.threshold


@dataclass(frozen=True)
class DriftSettings:
    error_delta: float = 0.5  # scaled error: a rise of the mean by more than this counts
    error_threshold: float = 30.0
    coverage_delta: float = 0.1  # misses: a rise above the nominal 20% by more than this counts
    coverage_threshold: float = 15.0
    alarm_delta: float = 0.02  # alarms per evaluation above the expected rate
    alarm_threshold: float = 3.0
    min_samples: int = 30
    hold: float = 6 * 3600.0  # seconds of event time a detection stays published

    def detector(self, signal: str, expected_alarms: float = 0.0) -> PageHinkley:
        if signal == "forecast_error":
            return PageHinkley(self.error_delta, self.error_threshold, self.min_samples)
        if signal == "coverage":
            return PageHinkley(self.coverage_delta, self.coverage_threshold, self.min_samples, NOMINAL_MISSES)
        return PageHinkley(self.alarm_delta, self.alarm_threshold, self.min_samples, expected_alarms)


@dataclass
class TargetDrift:
    """The three detectors of one target, and when each last fired."""
    detectors: dict = field(default_factory=dict)  # signal -> PageHinkley
    fired_at: dict = field(default_factory=dict)  # signal -> event time of the last detection


class DriftWatch:
    """Every target's detectors for one predictor. Its state is plain data (checkpoints)."""

    def __init__(self, predictor: str, settings: DriftSettings | None = None, expected_alarms: float = 0.0):
        self.predictor = predictor
        self.settings = settings or DriftSettings()
        self.expected_alarms = expected_alarms  # alerts per evaluation the model is expected to raise
        self.targets: dict = {}  # labels tuple -> TargetDrift
        self.scale: dict = {}  # labels tuple -> [sum, n] of the no-change forecast's errors (forecast_error's scale)
        self.detections = 0

    def add(self, labels: tuple, signal: str, value: float, now: float) -> bool:
        """Feed one value of one stream; True when it fires now."""
        if not math.isfinite(value):
            return False
        target = self.targets.setdefault(labels, TargetDrift())
        detector = target.detectors.get(signal)
        if detector is None:
            detector = target.detectors[signal] = self.settings.detector(signal, self.expected_alarms)
        if not detector.add(min(value, ERROR_CAP)):
            return False
        detector.reset()
        target.fired_at[signal] = now
        self.detections += 1
        return True

    def flags(self, now: float) -> dict:
        """(labels, signal) -> 1 while a detection is within `hold`, else 0, for every watched stream."""
        out = {}
        for labels, target in self.targets.items():
            for signal in target.detectors:
                at = target.fired_at.get(signal)
                out[(labels, signal)] = int(at is not None and now - at <= self.settings.hold)
        return out

    def drifting(self, now: float) -> bool:
        return any(self.flags(now).values())

    def forget(self, labels: tuple):
        self.targets.pop(labels, None)
        self.scale.pop(labels, None)


__all__ = ["ERROR_CAP", "NOMINAL_MISSES", "SIGNALS", "DriftSettings", "DriftWatch", "PageHinkley", "TargetDrift"]
