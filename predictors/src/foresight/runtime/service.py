"""`foresight run`: the sidecar. Kafka in, predictions out on /metrics."""
import logging
import threading
import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from foresight.config import Config
from foresight.publish.endpoints import serve
from foresight.publish.metrics import HealthMetrics, PredictionCollector
from foresight.sources.prometheus import PrometheusError, query_range

from .engine import Engine

log = logging.getLogger(__name__)


@dataclass
class Settings:
    kafka_bootstrap: str = "localhost:9092"
    consumer_group: str = "foresight-predictors"
    prometheus_url: str = ""
    warmup: float = 6 * 3600.0
    warmup_step: float = 60.0
    listen: str = "0.0.0.0:9464"
    feedback: object = None  # FeedbackSettings: Grafana annotations and threshold tuning; None = off


class Service:
    def __init__(self, config: Config, settings: Settings):
        self.settings = settings
        self.engine = Engine(config)
        self.registry = CollectorRegistry()
        self.health = HealthMetrics(self.registry)
        self.predictions = PredictionCollector(
            config.predictors, thresholds=lambda: {name: p.threshold for name, p in self.engine.policies.items()})
        self.registry.register(self.predictions)
        self.source = None
        self.warmed = False
        self.heartbeat = time.monotonic()
        self.stop_event = threading.Event()
        self._published_bad: dict = {}
        self._published_accepted = dict(self.engine.accepted)
        self._published_resets = 0
        # The feedback loop writes the structured event log; with Grafana settings it also
        # annotates predictions and tunes thresholds from engineers' verdicts.
        from foresight.feedback import FeedbackLoop
        thresholds = {n: p.threshold for n, p in self.engine.policies.items()}
        policies = {c.name: c.policy for c in config.predictors}
        if settings.feedback is None:
            self.feedback = FeedbackLoop.events_only(thresholds, self.registry, policies)
        else:
            self.feedback = FeedbackLoop(settings.feedback, thresholds, self.registry, policies=policies)
            self._apply_thresholds(self.feedback.thresholds())  # learnt before a restart

    def _apply_thresholds(self, thresholds: dict):
        for name, value in thresholds.items():
            if name in self.engine.policies:
                old = self.engine.policies[name].threshold
                self.engine.policies[name].set_threshold(value)
                if old != self.engine.policies[name].threshold:
                    log.info("threshold of predictor %s: %.3f -> %.3f (from feedback)", name, old,
                             self.engine.policies[name].threshold)

    # -- readiness ---------------------------------------------------------------------
    def health_status(self) -> tuple[bool, str]:
        stale = time.monotonic() - self.heartbeat
        return (stale < 60, f"main loop last ran {stale:.0f}s ago")

    def ready_status(self) -> tuple[bool, str]:
        if not self.warmed:
            return False, "warming windows from Prometheus"
        if self.source is None:
            return False, "connecting to Kafka"
        return True, "ready"

    # -- work --------------------------------------------------------------------------
    def warm_up(self, now: float):
        """Load recent history from Prometheus so a restart does not leave the predictors blind."""
        url = self.settings.prometheus_url
        if not url:
            log.info("warm-up skipped: no Prometheus URL configured")
            return
        loaded = 0
        for selector in self.engine.selectors:
            try:
                points = query_range(url, selector.promql(), now - self.settings.warmup, now,
                                     self.settings.warmup_step)
            except PrometheusError as exc:
                log.warning("warm-up of %s skipped: %s", selector, exc)
                continue
            points.sort(key=lambda p: p.timestamp)
            loaded += self.engine.add_points("metrics", points)
        self.health.warmup_points.inc(loaded)
        log.info("warm-up loaded %d points from %s", loaded, url)
        self.publish(self.engine.evaluate())

    def handle(self, messages: list[tuple[str, bytes]]):
        for signal, payload in messages:
            self.engine.ingest(signal, payload)
        started = time.perf_counter()
        predictions = self.engine.evaluate()
        if predictions:
            self.health.inference.observe(time.perf_counter() - started)
        self.publish(predictions)
        # Warm-up evaluations are not observed: history should not write annotations.
        if self.engine.store.watermark > float("-inf"):
            now = self.engine.store.watermark
            self.feedback.observe(predictions, now, self.engine.withdrawn)
            if self.feedback.due(now):
                self._apply_thresholds(self.feedback.poll(now))

    def publish(self, predictions):
        watermark = self.engine.store.watermark
        self.predictions.update(predictions, self.engine.withdrawn,
                                now=watermark if watermark > float("-inf") else None)
        for signal, total in self.engine.accepted.items():
            self.health.points.labels(signal).inc(total - self._published_accepted.get(signal, 0))
        self._published_accepted = dict(self.engine.accepted)
        for reason, total in self.engine.bad_input().items():
            self.health.bad_input.labels(reason).inc(total - self._published_bad.get(reason, 0))
            self._published_bad[reason] = total
        self.health.counter_resets.inc(self.engine.store.counter_resets - self._published_resets)
        self._published_resets = self.engine.store.counter_resets
        if self.engine.store.watermark > float("-inf"):
            self.health.event_time.set(self.engine.store.watermark)
        self.health.series.set(len(self.engine.store.windows))

    def run(self):
        from foresight.sources.kafka import KafkaSource  # imported here so `check` works without a broker

        server = serve(self.settings.listen, self.registry, self.health_status, self.ready_status)
        log.info("serving /metrics, /healthz and /readyz on %s", self.settings.listen)
        try:
            self.warm_up(time.time())
            self.warmed = True
            self.source = self._connect(KafkaSource)
            last_lag = 0.0
            while not self.stop_event.is_set():
                self.heartbeat = time.monotonic()
                messages = self.source.poll(timeout_ms=500)
                if messages:
                    self.handle(messages)
                    self.source.commit()
                if time.monotonic() - last_lag > 5:
                    last_lag = time.monotonic()
                    for topic, lag in self.source.lag().items():
                        self.health.lag.labels(topic).set(lag)
        finally:
            if self.source is not None:
                self.source.close()
            server.shutdown()

    def _connect(self, source_class):
        """Retry until the broker answers: the sidecar may start before Kafka."""
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                source = source_class(self.settings.kafka_bootstrap, self.settings.consumer_group)
                log.info("consuming from Kafka at %s as group %s", self.settings.kafka_bootstrap,
                         self.settings.consumer_group)
                return source
            except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
                log.warning("Kafka at %s not reachable (%s); retrying in %.0fs", self.settings.kafka_bootstrap,
                            exc, delay)
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30)
        raise SystemExit(0)
