"""Prometheus exposition. Predictions come from the last snapshot: no I/O during a scrape.

Each target's series carry its own labels (`predictor` and the target's identity,
contracts.predictions.output_labels), so samples of one family may have different label
sets: filesystems add `mountpoint`, HTTP series `http_route`, and so on.
"""
import threading
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from foresight.contracts import metric_names as names
from foresight.contracts.durations import horizon_label
from foresight.contracts.predictions import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction
from foresight.predictors.registry import PLUGINS, plugin_class

from .stable_text import HeldTexts

DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)  # seconds

HELP = {
    names.TIME_TO_FAILURE: "Time until the watched series crosses its limit (event time); +Inf when not within "
                           "the horizon.",
    names.FAILURE_PROBABILITY: "Probability of crossing the limit within the horizon.",
    names.FORECAST_VALUE: "Forecast of the watched series at now + horizon.",
    names.RISK_LEVEL: "0 none, 1 info, 2 warning, 3 critical, as the policy decides.",
    names.OBSERVED_VALUE: "Latest value of the watched series.",
    names.LIMIT_VALUE: "The limit the watched series is compared with.",
    names.TREND_PER_SECOND: "Current trend of the watched series, in its unit per second.",
    names.LAST_EVALUATION: "Event time of the latest evaluation.",
    names.ANOMALY_SCORE: "Anomaly score in [0, 1] (anomaly and logs kinds); absent while the detector warms up.",
    names.ANOMALY_PEAK_SCORE: "While at risk: the highest anomaly score since the risk level rose (the score that "
                              "raised the alert).",
    names.ATTRIBUTION_RATIO: "Share of the anomaly attributed to each feature (SHAP); sums to 1 per target.",
    names.DRIVER_INFO: "Why: the top drivers of an alert-worthy prediction, in plain words (changes only in "
                       "substance).",
    names.ACTION_INFO: "What to do: the predictor's action with this prediction's numbers (changes only in "
                       "substance).",
    names.INCIDENT_INFO: "The incident an at-risk target belongs to, and its root-cause candidate service.",
    names.MODEL_INFO: "The forecaster each target's central forecast comes from now (chosen per series by its "
                      "rolling backtest error).",
    names.LOG_TEMPLATE_RATE: "Log lines per second of the top templates per service (the rest as 'other').",
    names.DAILY_PROFILE_DAYS: "Whole days of history the target's daily profile was fitted on; 0 while it has none "
                              "(exhaustion kind).",
}


@dataclass(frozen=True)
class _Published:
    """A prediction with the texts to publish for it (held while the same in substance)."""
    prediction: Prediction
    action: str
    drivers: tuple
    peak: float | None = None  # anomaly kinds at risk: the highest score since the level rose


class PredictionCollector:
    """Yields foresight_* prediction gauges from the latest snapshot."""

    def __init__(self, predictor_configs, thresholds=None, alias: str = ""):
        self._infos = [(c.name, c.kind, c.resource, c.unit, c.action) for c in predictor_configs]
        # A target is ready once it may raise every alert: its daily pattern known (min_history, and
        # for exhaustion without a daily profile peer_history), and scored (anomaly kinds publish no
        # score while their detector warms up).
        self._readiness = {c.name: (c.policy, c.kind in PLUGINS and plugin_class(c.kind).scores_anomalies)
                           for c in predictor_configs}
        self._thresholds = thresholds  # callable -> {predictor: alert threshold in use}
        self._lock = threading.Lock()
        self._snapshot: dict[tuple, _Published] = {}
        # With a registry the predictions carry alias="champion" (`alias`), and challengers in
        # shadow mode are published beside them with alias="challenger".
        self._alias = alias
        self._challengers: dict[tuple, _Published] = {}
        self._texts = HeldTexts()

    def update(self, predictions: list[Prediction], withdrawn=(), now: float | None = None,
               stale_after: float = 3600.0):
        """Replace the published value of each target evaluated; drop the withdrawn ones, and
        those not renewed for `stale_after` seconds of event time (a series that went away)."""
        with self._lock:
            snapshot = dict(self._snapshot)
            for p in predictions:
                snapshot[p.key] = self._published(p, snapshot.get(p.key))
            for key in withdrawn:
                snapshot.pop(key, None)
            if now is not None:
                snapshot = {k: e for k, e in snapshot.items() if e.prediction.timestamp >= now - stale_after}
            self._texts.forget({k for k, e in snapshot.items() if e.prediction.risk_level})
            self._snapshot = snapshot

    def update_challengers(self, predictions: list[Prediction], withdrawn=(), running=(), now: float | None = None,
                           stale_after: float = 3600.0):
        """The challengers' latest predictions; the withdrawn ones, and those of predictors
        not in `running`, go."""
        with self._lock:
            shadow = {k: e for k, e in self._challengers.items() if k[0] in running}
            for p in predictions:
                shadow[p.key] = _Published(p, "", ())
            for key in withdrawn:
                shadow.pop(key, None)
            if now is not None:
                shadow = {k: e for k, e in shadow.items() if e.prediction.timestamp >= now - stale_after}
            self._challengers = shadow

    def _published(self, p: Prediction, previous: _Published | None) -> _Published:
        if not p.risk_level:  # why and what to do are published only while a target is at risk
            return _Published(p, "", ())
        action = self._texts.hold((p.key, "action"), p.action) if p.action else ""
        drivers = tuple(self._texts.hold((p.key, "driver", rank), text) for rank, text in enumerate(p.drivers, 1))
        # Detectors go quiet after a detection: the alert should say the score that raised it.
        peak = p.anomaly_score
        if previous is not None and previous.prediction.risk_level and previous.peak is not None:
            peak = previous.peak if peak is None else max(peak, previous.peak)
        return _Published(p, action, drivers, peak)

    def _ready(self, snapshot: dict) -> dict:
        """Predictor -> whether it has targets and every one of them is ready."""
        ready = {name: None for name in self._readiness}
        for entry in snapshot.values():
            p = entry.prediction
            policy, scores = self._readiness.get(p.predictor, (None, False))
            # As the policy: a target that has reached its limit once is no new target.
            known = policy is None or not policy.young(p.history_seconds, p.daily_profile_days, p.failures_seen)
            target = known and not (scores and p.anomaly_score is None)
            ready[p.predictor] = target if ready.get(p.predictor) is None else ready[p.predictor] and target
        return {name: bool(flag) for name, flag in ready.items()}

    def collect(self):
        snapshot = self._snapshot  # swapped whole, so reading it needs no lock
        families = {name: GaugeMetricFamily(name, doc) for name, doc in HELP.items()}

        def add(name, ident, value, **extra):
            families[name].add_sample(name, {**ident, **extra}, value)

        shadow = [(entry, "challenger") for entry in self._challengers.values()]
        for entry, alias in [(entry, self._alias) for entry in snapshot.values()] + shadow:
            p = entry.prediction
            ident = {"predictor": p.predictor, **p.labels, **({"alias": alias} if alias else {})}
            for q in TTF_QUANTILES:
                if q in p.ttf:
                    add(names.TIME_TO_FAILURE, ident, p.ttf[q], quantile=str(q))
            for h in PUBLISHED_HORIZONS:
                if h in p.probability:
                    add(names.FAILURE_PROBABILITY, ident, p.probability[h], horizon=horizon_label(h))
                for q in TTF_QUANTILES:
                    if (h, q) in p.forecast:
                        add(names.FORECAST_VALUE, ident, p.forecast[(h, q)], horizon=horizon_label(h), quantile=str(q))
            add(names.RISK_LEVEL, ident, p.risk_level)
            for name, value in ((names.OBSERVED_VALUE, p.observed), (names.LIMIT_VALUE, p.limit),
                                (names.TREND_PER_SECOND, p.trend_per_second), (names.ANOMALY_SCORE, p.anomaly_score),
                                (names.ANOMALY_PEAK_SCORE, entry.peak)):
                if value is not None:
                    add(name, ident, value)
            add(names.LAST_EVALUATION, ident, p.timestamp)
            if p.model:
                add(names.MODEL_INFO, ident, 1, model=p.model)
            if p.daily_profile_days is not None:
                add(names.DAILY_PROFILE_DAYS, ident, p.daily_profile_days)
            for feature, ratio in p.attributions.items():
                add(names.ATTRIBUTION_RATIO, ident, ratio, feature=feature)
            for rank, text in enumerate(entry.drivers, start=1):
                add(names.DRIVER_INFO, ident, 1, rank=str(rank), text=text)
            if entry.action:
                add(names.ACTION_INFO, ident, 1, text=entry.action)
            if p.risk_level and p.incident:
                add(names.INCIDENT_INFO, ident, 1, incident=p.incident[0], root_cause=p.incident[1])
            for template_id, template, severity, per_second in p.log_templates:
                add(names.LOG_TEMPLATE_RATE, {"predictor": p.predictor, "service": p.labels.get("service", ""),
                                              **({"alias": alias} if alias else {})},
                    per_second, template_id=template_id, template=template, severity=severity)
        info = GaugeMetricFamily(names.PREDICTOR_INFO, "Static description of each configured predictor.",
                                 labels=["predictor", "kind", "resource", "unit", "action"])
        for row in self._infos:
            info.add_metric(list(row), 1)
        ready = GaugeMetricFamily(names.PREDICTOR_READY, "1 once the predictor has targets and each may raise every "
                                  "alert: watched for its policy's min_history (exhaustion targets without a "
                                  "daily profile: peer_history) and, for anomaly kinds, scored (the detector's "
                                  "warm-up done); else 0.", labels=["predictor"])
        for name, flag in self._ready(snapshot).items():
            ready.add_metric([name], 1 if flag else 0)
        threshold = GaugeMetricFamily(names.POLICY_THRESHOLD,
                                      "The alert threshold each predictor's policy uses now (tuned by feedback).",
                                      labels=["predictor"])
        for name, value in (self._thresholds() if self._thresholds else {}).items():
            threshold.add_metric([name], value)
        yield from (*families.values(), info, ready, threshold)


class HealthMetrics:
    """The sidecar's own health, in its own registry (no global state)."""

    def __init__(self, registry: CollectorRegistry):
        self.points = Counter(names.POINTS_INGESTED, "Data points, log records and spans accepted.",
                              ["signal"], registry=registry)
        self.bad_input = Counter(names.BAD_INPUT, "Input dropped, by reason.", ["reason"], registry=registry)
        self.counter_resets = Counter(names.COUNTER_RESETS, "Cumulative counter resets detected (kept, not dropped).",
                                      registry=registry)
        self.lag = Gauge(names.CONSUMER_LAG, "Messages behind the end of each Kafka topic.",
                         ["topic"], registry=registry)
        self.partitions = Gauge(names.PARTITIONS_ASSIGNED, "Kafka partitions the consumer group gave this "
                                "replica; it predicts the series of these only.", registry=registry)
        self.inference = Histogram(names.INFERENCE_DURATION, "Duration of one inference loop: the predictions, "
                                   "up to their publication.", buckets=DURATION_BUCKETS, registry=registry)
        self.refits = Histogram(names.REFIT_DURATION, "Duration of the scheduled model refits run after each "
                                "inference loop's predictions are published.", buckets=DURATION_BUCKETS,
                                registry=registry)
        self.event_time = Gauge(names.EVENT_TIME, "Event-time watermark: newest data timestamp seen.",
                                registry=registry)
        self.series = Gauge(names.SERIES_TRACKED, "Series held in windows.", registry=registry)
        self.series_evicted = Counter(names.SERIES_EVICTED, "Series dropped from the windows: idle past the TTL, "
                                      "or the least recently updated when max_series was reached.", ["reason"],
                                      registry=registry)
        self.targets_dropped = Counter(names.TARGETS_DROPPED, "Series that got no prediction: their predictor "
                                       "had max_targets targets already.", ["predictor"], registry=registry)
        self.predictor_errors = Counter(names.PREDICTOR_ERRORS, "Unexpected exceptions in a predictor or one of "
                                        "its targets, caught; the rest kept running.", ["predictor"],
                                        registry=registry)
        self.warmup_points = Counter(names.WARMUP_POINTS, "Points loaded from Prometheus at start.",
                                     registry=registry)
        for signal in ("metrics", "logs", "traces"):
            self.points.labels(signal)  # publish zeros so rate() works from the start
        for reason in ("malformed_protobuf", "non_finite_value", "out_of_order", "duplicate",
                       "unknown_metric_type", "future"):
            self.bad_input.labels(reason)
        for reason in ("idle", "max_series"):
            self.series_evicted.labels(reason)
