"""Prometheus exposition. Predictions come from the last snapshot: no I/O during a scrape."""
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from foresight.contracts import metric_names as names
from foresight.contracts.durations import horizon_label
from foresight.contracts.predictions import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction


class PredictionCollector:
    """Yields foresight_* prediction gauges from the latest snapshot."""

    def __init__(self, predictor_configs, thresholds=None):
        self._infos = [(c.name, c.kind, c.resource, c.unit, c.action) for c in predictor_configs]
        self._thresholds = thresholds  # callable -> {predictor: alert threshold in use}
        self._lock = threading.Lock()
        self._snapshot: dict[tuple, Prediction] = {}

    def update(self, predictions: list[Prediction], withdrawn=(), now: float | None = None,
               stale_after: float = 3600.0):
        """Replace the published value of each target evaluated; drop the withdrawn ones, and
        those not renewed for `stale_after` seconds of event time (a series that went away)."""
        with self._lock:
            snapshot = dict(self._snapshot)
            for p in predictions:
                snapshot[p.key] = p
            for key in withdrawn:
                snapshot.pop(key, None)
            if now is not None:
                snapshot = {k: p for k, p in snapshot.items() if p.timestamp >= now - stale_after}
            self._snapshot = snapshot

    def collect(self):
        snapshot = self._snapshot  # swapped whole, so reading it needs no lock
        ids = ["predictor", "service", "service_instance"]

        def family(name, doc, extra=()):
            return GaugeMetricFamily(name, doc, labels=ids + list(extra))

        ttf = family(names.TIME_TO_FAILURE,
                     "Time until the watched series crosses its limit (event time); +Inf when not within the horizon.",
                     ["quantile"])
        prob = family(names.FAILURE_PROBABILITY, "Probability of crossing the limit within the horizon.", ["horizon"])
        forecast = family(names.FORECAST_VALUE, "Forecast of the watched series at now + horizon.", ["horizon", "quantile"])
        risk = family(names.RISK_LEVEL, "0 none, 1 info, 2 warning, 3 critical, as the policy decides.")
        observed = family(names.OBSERVED_VALUE, "Latest value of the watched series.")
        limit = family(names.LIMIT_VALUE, "The limit the watched series is compared with.")
        trend = family(names.TREND_PER_SECOND, "Current trend of the watched series, in its unit per second.")
        last = family(names.LAST_EVALUATION, "Event time of the latest evaluation.")
        anomaly = family(names.ANOMALY_SCORE, "Anomaly score in [0, 1] (anomaly and logs kinds).")
        attribution = family(names.ATTRIBUTION_RATIO,
                             "Share of the anomaly attributed to each feature (SHAP); sums to 1 per target.", ["feature"])
        driver = family(names.DRIVER_INFO, "Why: the top drivers of an alert-worthy prediction, in plain words.",
                        ["rank", "text"])
        action = family(names.ACTION_INFO, "What to do: the predictor's action with this prediction's numbers.",
                        ["text"])
        incident = family(names.INCIDENT_INFO,
                          "The incident an at-risk target belongs to, and its root-cause candidate service.",
                          ["incident", "root_cause"])
        model = family(names.MODEL_INFO, "The forecaster each target's central forecast comes from now "
                                               "(chosen per series by its rolling backtest error).", ["model"])
        templates = GaugeMetricFamily(names.LOG_TEMPLATE_RATE,
                                      "Log lines per second of the top templates per service (the rest as 'other').",
                                      labels=["predictor", "service", "template_id", "template", "severity"])
        for p in snapshot.values():
            ident = [p.predictor, p.labels.get("service", ""), p.labels.get("service_instance", "")]
            for q in TTF_QUANTILES:
                if q in p.ttf:
                    ttf.add_metric(ident + [str(q)], p.ttf[q])
            for h in PUBLISHED_HORIZONS:
                if h in p.probability:
                    prob.add_metric(ident + [horizon_label(h)], p.probability[h])
                for q in TTF_QUANTILES:
                    if (h, q) in p.forecast:
                        forecast.add_metric(ident + [horizon_label(h), str(q)], p.forecast[(h, q)])
            risk.add_metric(ident, p.risk_level)
            for fam, value in ((observed, p.observed), (limit, p.limit), (trend, p.trend_per_second),
                               (anomaly, p.anomaly_score)):
                if value is not None:
                    fam.add_metric(ident, value)
            last.add_metric(ident, p.timestamp)
            if p.model:
                model.add_metric(ident + [p.model], 1)
            for feature, ratio in p.attributions.items():
                attribution.add_metric(ident + [feature], ratio)
            if p.risk_level:  # why, what to do and the incident matter while a target is at risk
                for rank, text in enumerate(p.drivers, start=1):
                    driver.add_metric(ident + [str(rank), text], 1)
                if p.action:
                    action.add_metric(ident + [p.action], 1)
                if p.incident:
                    incident.add_metric(ident + list(p.incident), 1)
            for template_id, template, severity, per_second in p.log_templates:
                templates.add_metric([p.predictor, p.labels.get("service", ""), template_id, template, severity],
                                     per_second)
        info = GaugeMetricFamily(names.PREDICTOR_INFO, "Static description of each configured predictor.",
                                 labels=["predictor", "kind", "resource", "unit", "action"])
        for row in self._infos:
            info.add_metric(list(row), 1)
        threshold = GaugeMetricFamily(names.POLICY_THRESHOLD,
                                      "The alert threshold each predictor's policy uses now (tuned by feedback).",
                                      labels=["predictor"])
        for name, value in (self._thresholds() if self._thresholds else {}).items():
            threshold.add_metric([name], value)
        yield from (ttf, prob, forecast, risk, observed, limit, trend, last, anomaly, attribution, driver, action,
                    incident, model, templates, info, threshold)


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
        self.inference = Histogram(names.INFERENCE_DURATION, "Duration of one inference loop.",
                                   buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                   registry=registry)
        self.event_time = Gauge(names.EVENT_TIME, "Event-time watermark: newest data timestamp seen.",
                                registry=registry)
        self.series = Gauge(names.SERIES_TRACKED, "Series held in windows.", registry=registry)
        self.warmup_points = Counter(names.WARMUP_POINTS, "Points loaded from Prometheus at start.",
                                     registry=registry)
        for signal in ("metrics", "logs", "traces"):
            self.points.labels(signal)  # publish zeros so rate() works from the start
        for reason in ("malformed_protobuf", "non_finite_value", "out_of_order", "duplicate",
                       "unknown_metric_type", "series_limit"):
            self.bad_input.labels(reason)
