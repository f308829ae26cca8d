"""`foresight run`: the sidecar. Kafka in, predictions out on /metrics."""
import logging
import threading
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from foresight.config import Config
from foresight.publish.endpoints import serve
from foresight.publish.metrics import HealthMetrics, PredictionCollector
from foresight.store import StoreSettings

from .background import BackgroundFeedback
from .engine import Engine
from .restarts import StateKeeper, seek_on_assignment
from .warmup import history_needed, replay_history

log = logging.getLogger(__name__)


@dataclass
class Settings:
    kafka_bootstrap: str = "localhost:9092"
    consumer_group: str = "foresight-predictors"
    prometheus_url: str = ""
    warmup: float | None = None  # None: as much as the predictors need (warmup.history_needed)
    warmup_step: float = 60.0
    listen: str = "0.0.0.0:9464"
    feedback: object = None  # FeedbackSettings: Grafana annotations and threshold tuning; None = off
    state: str = ""  # state store: a SQLite file or a postgresql:// URL; empty = no checkpoints
    checkpoint_every: float = 300.0  # event time between checkpoints
    shutdown_timeout: float = 20.0  # seconds the last writes may take at shutdown
    store: StoreSettings = field(default_factory=StoreSettings)  # the windows: clock skew, series TTL, max_series


class Service:
    def __init__(self, config: Config, settings: Settings):
        self.settings = settings
        self.engine = Engine(config, settings.store)
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
        self._published_evicted: dict = {}
        self._published_per_predictor: dict = {}  # (what, predictor) -> total published
        # The feedback loop writes the structured event log; with Grafana settings it also
        # annotates predictions and tunes thresholds from engineers' verdicts.
        from foresight.feedback import FeedbackLoop
        thresholds = {n: p.threshold for n, p in self.engine.policies.items()}
        policies = {c.name: c.policy for c in config.predictors}
        if settings.feedback is None:
            loop = FeedbackLoop.events_only(thresholds, self.registry, policies)
        else:
            loop = FeedbackLoop(settings.feedback, thresholds, self.registry, policies=policies)
            self._apply_thresholds(loop.thresholds())  # learnt before a restart
        # Grafana calls and the feedback state file run on a worker thread, off the consumer's.
        self.feedback = BackgroundFeedback(loop)
        self.state = (StateKeeper(self.engine, settings.state, settings.checkpoint_every, settings.consumer_group)
                      if settings.state else None)

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
    def restore(self) -> bool:
        """Take the last checkpoint back (before the first Kafka poll); False when there is none."""
        if self.state is None or not self.state.restore():
            return False
        if self.state.unreadable:
            self.health.bad_input.labels("unreadable_state_row").inc(self.state.unreadable)
        # Counters restart at zero in a new process: what the restored parts counted before is not new.
        self._published_bad = dict(self.engine.bad_input())
        self.publish([])
        return True

    def warm_up(self, now: float):
        """Without a checkpoint: replay the history the predictors need from Prometheus, so a
        restart does not leave them blind."""
        url = self.settings.prometheus_url
        if not url:
            log.info("warm-up skipped: no Prometheus URL configured")
            return
        span = self.settings.warmup
        if span is None:
            span = history_needed(self.engine, self.engine.store.max_age)
        started = time.monotonic()
        loaded = replay_history(self.engine, url, now - span, now, self.settings.warmup_step, self.publish)
        self.health.warmup_points.inc(loaded)
        log.info("warm-up loaded %d points (%.1f h) from %s in %.0fs", loaded, span / 3600, url,
                 time.monotonic() - started)

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
            self._apply_thresholds(self.feedback.take_thresholds())
            if self.state is not None and self.state.due(now):
                self.state.checkpoint(self.source)

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
        for reason, total in self.engine.store.evicted.items():
            self.health.series_evicted.labels(reason).inc(total - self._published_evicted.get(reason, 0))
            self._published_evicted[reason] = total
        for what, counter, totals in (("dropped", self.health.targets_dropped, self.engine.targets_dropped()),
                                      ("errors", self.health.predictor_errors, self.engine.errors())):
            for name, total in totals.items():  # every predictor, so its counter starts at 0
                counter.labels(name).inc(total - self._published_per_predictor.get((what, name), 0))
                self._published_per_predictor[(what, name)] = total

    def run(self):
        from foresight.sources.kafka import KafkaSource  # imported here so `check` works without a broker

        server = serve(self.settings.listen, self.registry, self.health_status, self.ready_status)
        log.info("serving /metrics, /healthz and /readyz on %s", self.settings.listen)
        try:
            if not self.restore():
                self.warm_up(time.time())
            self.warmed = True
            self.source = self._connect(KafkaSource)
            if self.state is not None and self.state.offsets:
                seek_on_assignment(self.source, self.state.offsets)
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
            self.close()
            if self.source is not None:
                self.source.close()
            server.shutdown()

    def close(self):
        """At shutdown (SIGTERM): a last checkpoint, and every queued write done."""
        if self.state is not None:
            self.state.checkpoint(self.source)
            self.state.close(self.settings.shutdown_timeout)
        if not self.feedback.close(self.settings.shutdown_timeout):
            log.error("feedback writes still under way after %ss at shutdown", self.settings.shutdown_timeout)

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
