"""The `anomaly` predictor: a streaming anomaly score per series, explained.

Each series the `series` selector matches gets its own streaming detector, fed every new
point in event-time order. `drivers` name the series that may explain an alert (the same
service's series): the "why" ranks them by lagged correlation with the target. With a
`multivariate` block too, an Isolation Forest also watches the target together with its
drivers and attributes its score to them (SHAP); the published score is the higher of
the two. The multivariate model costs milliseconds per point, so it is opt-in.

```yaml
- name: checkout-latency
  kind: anomaly
  series: http_server_request_duration_seconds_sum{job="checkout"}
  drivers:                       # optional: plain-word name -> selector
    request rate: http_server_request_duration_seconds_count{job="checkout"}
  detector: {}                   # optional overrides of the univariate defaults
  multivariate: {}               # optional: turn the multivariate model on (with overrides)
```
"""
import math
from dataclasses import dataclass, field

from foresight.contracts.predictions import Prediction, output_labels
from foresight.predictors.base import Predictor
from foresight.predictors.peers import live, others
from foresight.store import SeriesStore, Window, same_target

from .config import AnomalyConfig
from .persistence import RECENT_ROWS, REFERENCE_ROWS, alarmed_together, away, moved_apart, reference
from .univariate import StreamingDetector

ATTRIBUTE_EVERY = 600.0  # event seconds between attributions of a score below explain_above
# The univariate checks in plain words, for the "why" when no driver explains the score.
CHECK_WORDS = {
    "level": "far from its recent level",
    "range": "outside the range it kept recently",
    "shape": "moving in a shape not seen recently",
    "daily": "unusual for this time of day",
    "novelty": "at values not seen before",
}


@dataclass
class _Target:
    """One watched series: its detectors and how far they have read."""
    detector: StreamingDetector
    multivariate: object = None
    fed_until: float = -math.inf
    score: float | None = None  # None until the univariate detector is ready
    attributions: dict = field(default_factory=dict)
    explained_at: float = -math.inf  # event time of the latest attributions
    reference: tuple | None = None  # (level, spread) before the latest alarm (persistence)
    reference_span: tuple | None = None  # event times of the first and last of those points
    alarmed_at: float = -math.inf  # event time of the latest alarm (peers: alarmed_together)


class AnomalyPredictor(Predictor):
    Config = AnomalyConfig
    scores_anomalies = True

    def __init__(self, config: AnomalyConfig):
        super().__init__(config)
        self._targets: dict[tuple, _Target] = {}

    def _target(self, labels: dict) -> _Target:
        key = tuple(sorted(labels.items()))
        target = self._targets.get(key)
        if target is None:
            target = _Target(StreamingDetector(self.config.detector))
            if self.config.multivariate is not None:
                from .multivariate import MultivariateDetector  # scikit-learn loads only when it is used

                names = [self._target_name(), *self.config.drivers]
                # A stable group name spreads the groups' refits over time.
                target.multivariate = MultivariateDetector(names, self.config.multivariate,
                                                           group=f"{self.config.name}/{key}")
            self._targets[key] = target
        return target

    def _target_name(self) -> str:
        return self.config.resource or self.config.series.metric

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        target = self._target(labels)
        times, values = window.arrays()
        # A new target starts at the window's raw points: older ones are bin means, whose
        # spread is not the raw points' (store.Window).
        since = target.fed_until if target.fed_until > -math.inf else (window.raw_since or -math.inf)
        start = int(times.searchsorted(since, side="left" if target.fed_until == -math.inf else "right"))
        drivers = self._driver_windows(labels, store) if target.multivariate is not None else {}
        best, alarm_level = None, target.detector.settings.alarm_level
        new_times, new_values = times[start:].tolist(), values[start:].tolist()
        for i, (t, v) in enumerate(zip(new_times, new_values)):
            score = target.detector.update(t, v)  # None while the detector warms up
            if target.multivariate is not None:
                # Every point updates the multivariate features; only the newest is scored (costly).
                newest = i == len(new_times) - 1
                result = target.multivariate.update(t, {self._target_name(): v, **_values_at(drivers, t)},
                                                    score=newest)
                if result is not None and score is not None:
                    score = max(score, result.score)
                    if not result.attributions and newest and t - target.explained_at >= ATTRIBUTE_EVERY:
                        # Below `explain_above` attributions are not needed at once; refresh them
                        # now and then so dashboards show what drives the current score.
                        result = target.multivariate.explain_latest() or result
                    if result.attributions:
                        target.attributions, target.explained_at = result.attributions, t
            if score is not None and score >= alarm_level:  # where the series was before the alarm
                at = start + i
                first = max(0, at - REFERENCE_ROWS)
                target.reference = reference(values[first:at])
                target.reference_span = (float(times[first]), float(times[at - 1])) if at > first else None
                target.alarmed_at = t
            if score is not None:  # several new points: the worst counts
                best = score if best is None else max(best, score)
        target.fed_until = float(times[-1])
        if best is not None:
            target.score = best
        return Prediction(
            predictor=self.config.name,
            labels=output_labels(labels),
            timestamp=now,
            observed=float(values[-1]),
            anomaly_score=target.score,
            attributions=dict(target.attributions),
            persisting=away(target.reference, values[-RECENT_ROWS:]),
        )

    def evaluate(self, store: SeriesStore) -> list[Prediction]:
        predictions = super().evaluate(store)
        pairs = None
        for p in predictions:  # an anomaly that lasts: is it the target's own, or its fleet's?
            if not p.persisting:
                continue
            target = self._targets.get(tuple(sorted(self.source_labels(p.key).items())))
            own = self.source_series(p.key)
            if target is None or own is None:
                continue
            if pairs is None:
                pairs = live(store, store.targets_matching(self.config.series))  # a replaced pod is no peer
            peer_alarms = [self._alarmed_at(key) for key, _ in others(pairs, own)]
            if alarmed_together(peer_alarms, target.alarmed_at, self.config.policy.fleet_share):
                p.peer_outlier = False
            elif p.history_seconds < self.config.policy.min_history and target.reference_span is not None:
                p.peer_outlier = moved_apart(own, store.windows.get(own), pairs, target.reference_span)
        return predictions

    def _alarmed_at(self, series_key: tuple) -> float:
        target = self._targets.get(tuple(sorted(series_key[1])))
        return -math.inf if target is None else target.alarmed_at

    def model_reason(self, prediction: Prediction) -> str:
        """The check that drove the score, e.g. 'request latency is unusual for this time of day'."""
        target = self._targets.get(tuple(sorted(self.source_labels(prediction.key).items())))
        if target is None or not target.detector.last_tails:
            return ""
        check = min(target.detector.last_tails, key=target.detector.last_tails.get)
        words = CHECK_WORDS.get(check, f"unusual by its {check} check")
        return f"{self.config.resource or self.config.series.metric} is {words}"

    def _driver_windows(self, labels: dict, store: SeriesStore) -> dict:
        found = {}
        for name, selector in self.config.drivers.items():
            window = same_target(labels, store.matching(selector))
            if window is not None:
                found[name] = window
        return found


def _values_at(windows: dict, t: float) -> dict:
    """Each driver's latest value at or before `t`: the drivers' points need not align."""
    out = {}
    for name, window in windows.items():
        times, values = window.arrays()
        i = int(times.searchsorted(t, side="right")) - 1
        if i >= 0:
            out[name] = float(values[i])
    return out
