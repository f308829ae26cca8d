"""Prometheus exposition. Predictions come from the last snapshot: no I/O during a scrape."""
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

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

        ttf = family("foresight_time_to_failure_seconds",
                     "Time until the watched series crosses its limit (event time); +Inf when not within the horizon.",
                     ["quantile"])
        prob = family("foresight_failure_probability", "Probability of crossing the limit within the horizon.", ["horizon"])
        forecast = family("foresight_forecast_value", "Forecast of the watched series at now + horizon.", ["horizon", "quantile"])
        risk = family("foresight_risk_level", "0 none, 1 info, 2 warning, 3 critical, as the policy decides.")
        observed = family("foresight_observed_value", "Latest value of the watched series.")
        limit = family("foresight_limit_value", "The limit the watched series is compared with.")
        trend = family("foresight_trend_per_second", "Current trend of the watched series, in its unit per second.")
        last = family("foresight_last_evaluation_timestamp_seconds", "Event time of the latest evaluation.")
        anomaly = family("foresight_anomaly_score", "Anomaly score in [0, 1] (anomaly and logs kinds).")
        attribution = family("foresight_attribution_ratio",
                             "Share of the anomaly attributed to each feature (SHAP); sums to 1 per target.", ["feature"])
        driver = family("foresight_driver_info", "Why: the top drivers of an alert-worthy prediction, in plain words.",
                        ["rank", "text"])
        action = family("foresight_action_info", "What to do: the predictor's action with this prediction's numbers.",
                        ["text"])
        incident = family("foresight_incident_info",
                          "The incident an at-risk target belongs to, and its root-cause candidate service.",
                          ["incident", "root_cause"])
        model = family("foresight_model_info", "The forecaster each target's central forecast comes from now "
                                               "(chosen per series by its rolling backtest error).", ["model"])
        templates = GaugeMetricFamily("foresight_log_template_rate",
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
        info = GaugeMetricFamily("foresight_predictor_info", "Static description of each configured predictor.",
                                 labels=["predictor", "kind", "resource", "unit", "action"])
        for row in self._infos:
            info.add_metric(list(row), 1)
        threshold = GaugeMetricFamily("foresight_policy_threshold",
                                      "The alert threshold each predictor's policy uses now (tuned by feedback).",
                                      labels=["predictor"])
        for name, value in (self._thresholds() if self._thresholds else {}).items():
            threshold.add_metric([name], value)
        yield from (ttf, prob, forecast, risk, observed, limit, trend, last, anomaly, attribution, driver, action,
                    incident, model, templates, info, threshold)


class HealthMetrics:
    """The sidecar's own health, in its own registry (no global state)."""

    def __init__(self, registry: CollectorRegistry):
        self.points = Counter("foresight_points_ingested", "Data points, log records and spans accepted.",
                              ["signal"], registry=registry)
        self.bad_input = Counter("foresight_bad_input", "Input dropped, by reason.", ["reason"], registry=registry)
        self.counter_resets = Counter("foresight_counter_resets", "Cumulative counter resets detected (kept, not dropped).",
                                      registry=registry)
        self.lag = Gauge("foresight_consumer_lag_messages", "Messages behind the end of each Kafka topic.",
                         ["topic"], registry=registry)
        self.inference = Histogram("foresight_inference_duration_seconds", "Duration of one inference loop.",
                                   buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                   registry=registry)
        self.event_time = Gauge("foresight_event_time_seconds", "Event-time watermark: newest data timestamp seen.",
                                registry=registry)
        self.series = Gauge("foresight_series_tracked", "Series held in windows.", registry=registry)
        self.warmup_points = Counter("foresight_warmup_points", "Points loaded from Prometheus at start.",
                                     registry=registry)
        for signal in ("metrics", "logs", "traces"):
            self.points.labels(signal)  # publish zeros so rate() works from the start
        for reason in ("malformed_protobuf", "non_finite_value", "out_of_order", "duplicate",
                       "unknown_metric_type", "series_limit"):
            self.bad_input.labels(reason)
