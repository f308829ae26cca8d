"""`foresight run`: the sidecar. Kafka in, predictions out on /metrics."""
import logging
import math
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
from .pacing import TopicPacer, begins_at
from .handover import PartitionKeeper
from .heap import collector_paused, freeze_startup_state
from .peers import PeerIncidents
from .restarts import StateKeeper
from .shadow import ModelWatch
from .warmup import history_needed, replay_history

log = logging.getLogger(__name__)


@dataclass
class Settings:
    kafka_bootstrap: str = "localhost:9092"
    consumer_group: str = "foresight-predictors"
    prometheus_url: str = ""
    warmup: float | None = None  # None: as much as the predictors need (warmup.history_needed)
    warmup_step: float = 60.0
    listen: str = "127.0.0.1:9464"  # loopback unless asked: compose sets FORESIGHT_LISTEN=0.0.0.0:9464
    feedback: object = None  # FeedbackSettings: Grafana annotations and threshold tuning; None = off
    state: str = ""  # state store: a SQLite file or a postgresql:// URL; empty = no checkpoints
    checkpoint_every: float = 300.0  # event time between checkpoints
    shutdown_timeout: float = 20.0  # seconds the last writes may take at shutdown
    store: StoreSettings = field(default_factory=StoreSettings)  # the windows: clock skew, series TTL, max_series
    catch_up_step: float = 60.0  # a backlog is evaluated every this much event time, as evaluate_every does
    poll_budget: float = 1.0  # seconds one poll's messages should take; the poll size adapts to it
    registry: str = ""  # MLflow URL: start from each predictor's champion bundle and follow it; empty = off
    registry_poll: float = 30.0  # seconds between asks for a moved champion alias
    kafka_security: object = None  # sources.kafka_security.KafkaSecurity (TLS, SASL); None = plaintext
    freeze_startup: bool = False  # gc.freeze() what start-up built (runtime/heap.py); `foresight run` sets it


class PollSize:
    """Messages taken per Kafka poll. A consumer that does not poll again within the group's
    max_poll_interval (5 s) is dropped from the group and its uncommitted messages are read
    again, so a backlog of big messages (a history burst) is taken a few at a time: the size
    halves after a poll whose handling took longer than `budget` seconds and doubles, up to
    `largest`, after a full poll handled in under a quarter of it."""

    def __init__(self, budget: float, largest: int = 200, start: int = 8):
        self.budget, self.largest, self.size = budget, largest, min(start, largest)

    def after(self, taken: int, seconds: float):
        if seconds > self.budget:
            self.size = max(1, min(self.size, taken) // 2)
        elif seconds < self.budget / 4 and taken >= self.size:
            self.size = min(self.largest, 2 * self.size)


class Service:
    def __init__(self, config: Config, settings: Settings):
        self.settings = settings
        self.engine = Engine(config, settings.store)
        self.registry = CollectorRegistry()
        self.health = HealthMetrics(self.registry)
        self.predictions = PredictionCollector(
            config.predictors, thresholds=lambda: {name: p.threshold for name, p in self.engine.policies.items()},
            alias="champion" if settings.registry else "")  # with a registry, challengers run beside
        self.registry.register(self.predictions)
        # The live scorecard, drift (published with a registry only) and shadow mode.
        self.models = ModelWatch(self.engine, self.registry, publish_drift=bool(settings.registry))
        self.source = None
        self.warmed = False
        self.heartbeat = time.monotonic()
        self.stop_event = threading.Event()
        self._published_bad: dict = {}
        self._published_accepted = dict(self.engine.accepted)
        self._published_resets = 0
        self._published_evicted: dict = {}
        self._published_per_predictor: dict = {}  # (what, predictor) -> total published
        self._step_from = -math.inf  # the newest point evaluated so far: catch-up steps count from it
        self.poll_size = PollSize(settings.poll_budget)
        self.pacer = TopicPacer()  # keeps the topics in step through a backlog (pacing.py)
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
        # A SQLite file keeps one replica's state; PostgreSQL keeps it per partition, for a
        # group of replicas that hand partitions over (handover.py).
        self.state = self.handover = self.peers = None
        if settings.state.startswith(("postgresql://", "postgres://")):
            self.handover = PartitionKeeper(self.engine, settings.state, settings.checkpoint_every,
                                            settings.consumer_group)
            self.peers = PeerIncidents(self.engine, settings.state, settings.consumer_group)
        elif settings.state:
            self.state = StateKeeper(self.engine, settings.state, settings.checkpoint_every, settings.consumer_group)
        self.champions = None  # with a registry: each predictor from its champion bundle (runtime.champions)
        if settings.registry:
            from .champions import Champions
            self.champions = Champions(self.engine, settings.registry, settings.registry_poll, self.registry,
                                       watch=self.models)

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
        start = now - span
        if self.champions is not None and self.champions.trained_until is not None:
            start = max(start, self.champions.trained_until)  # the champion's windows hold what came before
        loaded = replay_history(self.engine, url, start, now, self.settings.warmup_step, self.publish)
        self.health.warmup_points.inc(loaded)
        log.info("warm-up loaded %d points (%.1f h) from %s in %.0fs", loaded, span / 3600, url,
                 time.monotonic() - started)

    def handle(self, messages: list[tuple[str, bytes]], budget: float | None = None):
        """Ingest one poll's messages and evaluate.

        Messages go in across topics in order of event time (pacing.py: a topic running ahead
        of another that is still delivering waits). A backlog (the stream after a pause, a
        history burst) is evaluated as it goes in, before each message that begins more than
        `catch_up_step` after the data of the last evaluation, so one evaluation covers
        minutes of data, not hours: foresight_inference_duration_seconds times each
        evaluation, and how far behind the stream the sidecar is shows as the consumer lag.
        With a `budget` (seconds), what is left when it is spent stays held for the next call.
        """
        fresh = not messages and not self.pacer.holding  # input the last evaluation has not seen
        wall = time.monotonic()
        for signal, payload, *where in messages:  # where: (partition, offset) of a Kafka message
            self.pacer.add(signal, payload, self.engine.decode(signal, payload), wall, where)
        while budget is None or time.monotonic() - wall < budget:
            item = self.pacer.next(self.engine.store.stream_time, wall)
            if item is None:
                break
            signal, payload, decoded, where = item
            if decoded is None:  # held long: only its payload was kept
                decoded = self.engine.decode(signal, payload, count_bad=False)
            begins = begins_at(decoded)
            if self._step_from == -math.inf:
                self._step_from = begins  # the first data: steps count from it
            if fresh and begins > self._step_from + self.settings.catch_up_step:
                self._evaluate()  # what came before this message: a step or more of event time
            self.engine.take(signal, decoded, where[0] if where else None)
            if where and self.handover is not None:
                self.handover.took(*where)
            fresh = True
        self.pacer.shed()
        if fresh:
            self._evaluate()
        now = self.engine.store.watermark
        # Only with every message polled in: the checkpoint covers the consumer's position.
        if now > float("-inf") and not self.pacer.holding:
            if self.state is not None and self.state.due(now):
                self.state.checkpoint(self.source)
            if self.handover is not None and self.handover.due(now):
                self.handover.checkpoint()

    def _evaluate(self):
        with collector_paused():  # the garbage collector's walks wait until the predictions are out
            started = time.perf_counter()
            predictions = self.engine.predict()
            if predictions:
                self.health.inference.observe(time.perf_counter() - started)
            self.publish(predictions)
        started = time.perf_counter()  # the scheduled refits: once the predictions are out
        self.engine.refit_pending()
        self.health.refits.observe(time.perf_counter() - started)
        if self.engine.store.watermark > float("-inf"):
            self.models.observe(predictions, self.engine.withdrawn, self.engine.store.watermark, self.predictions)
        self._step_from = max(self.engine.store.stream_time.values(), default=-math.inf)
        now = self.engine.store.watermark
        # Warm-up evaluations are not observed: history should not write annotations.
        if self.peers is not None and self.source is not None:
            self.peers.tick()  # incidents across replicas: share and take targets at risk
        if now > float("-inf"):
            self.feedback.observe(predictions, now, self.engine.withdrawn)
            self._apply_thresholds(self.feedback.take_thresholds())

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
            if self.handover is not None:
                self.handover.expect_assignment()
            restored = self.restore()
            if self.champions is not None:
                self.champions.start(restored)
            if not restored:
                self.warm_up(time.time())
            if self.settings.freeze_startup:
                freeze_startup_state()
            self.warmed = True
            self.source = self._connect(KafkaSource)
            self.source.listen(self._revoked, self._assigned)
            self.pacer.expect(self.source.topics, time.monotonic())
            last_lag = 0.0
            while not self.stop_event.is_set():
                self.heartbeat = time.monotonic()
                if self.champions is not None:
                    self.champions.apply_pending()  # a moved champion alias: swap that predictor's models
                messages = self.source.poll(timeout_ms=500, max_records=self.poll_size.size)
                if messages or self.pacer.holding:
                    started = time.monotonic()
                    self.handle(messages, budget=self.settings.poll_budget)
                    if not self.pacer.holding:  # a commit covers every message polled so far
                        self.source.commit()
                    self.poll_size.after(len(messages), time.monotonic() - started)
                if time.monotonic() - last_lag > 5:
                    last_lag = time.monotonic()
                    for topic, lag in self.source.lag().items():
                        self.health.lag.labels(topic).set(lag)
        finally:
            self.close()
            if self.source is not None:
                self.source.close()
            server.shutdown()

    # -- rebalances (inside the consumer's poll) ---------------------------------------
    def _revoked(self, partitions: set):
        if self.handover is not None:
            self.pacer.discard(partitions)  # read again by whoever gets them, from their checkpoint
            self.handover.revoked(partitions)

    def _assigned(self, partitions: set) -> dict:
        """Partition -> offset to read from: where the restored state ends."""
        self.health.partitions.set(len(partitions))
        if self.handover is not None:
            seek, withdrawn = self.handover.assigned(partitions)
            if withdrawn:
                watermark = self.engine.store.watermark
                self.predictions.update([], withdrawn, now=watermark if watermark > float("-inf") else None)
            return seek
        total = self.source.partition_count() if self.source is not None else 0
        if self.state is not None and 0 < len(partitions) < total:
            log.warning("this replica was given %d of the group's %d partitions, so other replicas share the group, "
                        "but the state store %s serves one replica only: use a postgresql:// state store for "
                        "replicas", len(partitions), total, self.state.location)
        offsets = self.state.offsets if self.state is not None else {}
        return {p: offsets.pop(p) for p in list(offsets) if p in partitions}

    def close(self):
        """At shutdown (SIGTERM): a last checkpoint, and every queued write done."""
        if self.champions is not None:
            self.champions.close()
        self.models.close()
        if self.state is not None:
            self.state.checkpoint(self.source)
            self.state.close(self.settings.shutdown_timeout)
        if self.handover is not None:
            self.handover.close(self.settings.shutdown_timeout)
        if self.peers is not None:
            self.peers.close(self.settings.shutdown_timeout)
        if not self.feedback.close(self.settings.shutdown_timeout):
            log.error("feedback writes still under way after %ss at shutdown", self.settings.shutdown_timeout)

    def _connect(self, source_class):
        """Retry until the broker answers: the sidecar may start before Kafka."""
        delay = 1.0
        while not self.stop_event.is_set():
            try:
                source = source_class(self.settings.kafka_bootstrap, self.settings.consumer_group,
                                      security=self.settings.kafka_security)
                log.info("consuming from Kafka at %s as group %s", self.settings.kafka_bootstrap,
                         self.settings.consumer_group)
                return source
            except Exception as exc:  # kafka-python raises NoBrokersAvailable and friends
                log.warning("Kafka at %s not reachable (%s); retrying in %.0fs", self.settings.kafka_bootstrap,
                            exc, delay)
                self.stop_event.wait(delay)
                delay = min(delay * 2, 30)
        raise SystemExit(0)
