"""Prometheus exposition. Predictions come from the last snapshot: no I/O during a scrape."""
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from ..durations import horizon_label
from ..predictors.base import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction


class PredictionCollector:
    """Yields foresight_* prediction gauges from the latest snapshot."""

    def __init__(self, predictor_configs):
        self._infos = [(c.name, c.kind, c.resource, c.unit, c.action) for c in predictor_configs]
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
        for p in snapshot.values():
            ident = [p.predictor, p.labels.get("service", ""), p.labels.get("service_instance", "")]
            for q in TTF_QUANTILES:
                ttf.add_metric(ident + [str(q)], p.ttf[q])
            for h in PUBLISHED_HORIZONS:
                prob.add_metric(ident + [horizon_label(h)], p.probability[h])
                for q in TTF_QUANTILES:
                    if (h, q) in p.forecast:
                        forecast.add_metric(ident + [horizon_label(h), str(q)], p.forecast[(h, q)])
            risk.add_metric(ident, p.risk_level)
            observed.add_metric(ident, p.observed)
            limit.add_metric(ident, p.limit)
            trend.add_metric(ident, p.trend_per_second)
            last.add_metric(ident, p.timestamp)
        info = GaugeMetricFamily("foresight_predictor_info", "Static description of each configured predictor.",
                                 labels=["predictor", "kind", "resource", "unit", "action"])
        for row in self._infos:
            info.add_metric(list(row), 1)
        yield from (ttf, prob, forecast, risk, observed, limit, trend, last, info)


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
