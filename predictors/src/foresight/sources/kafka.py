"""Consume OTLP protobuf from the collector's Kafka topics as a consumer group."""
import logging

from kafka import KafkaConsumer

log = logging.getLogger(__name__)

DEFAULT_TOPICS = {"metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces"}


class KafkaSource:
    def __init__(self, bootstrap: str, group: str, topics: dict | None = None):
        self.topics = dict(topics or DEFAULT_TOPICS)
        self._signal_of = {topic: signal for signal, topic in self.topics.items()}
        self.consumer = KafkaConsumer(
            *self.topics.values(),
            bootstrap_servers=[s.strip() for s in bootstrap.split(",")],
            group_id=group,
            client_id="foresight",
            auto_offset_reset="earliest",
            # Offsets are committed only after a batch is in the windows: nothing accepted is lost.
            enable_auto_commit=False,
            # Small poll interval and session timeout keep group joins quick (and working with tansu).
            max_poll_interval_ms=5000,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1500,
            max_poll_records=200,
        )

    def poll(self, timeout_ms: int = 500, max_records: int | None = None) -> list[tuple[str, bytes]]:
        """Up to `max_records` messages (default max_poll_records); the rest stay buffered for the next poll."""
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        out = []
        for tp, records in batches.items():
            signal = self._signal_of.get(tp.topic)
            out.extend((signal, r.value) for r in records if r.value is not None)
        return out

    def commit(self):
        try:
            self.consumer.commit()
        except Exception as exc:  # a rebalance mid-commit: the next batch commits again
            log.warning("offset commit failed: %s", exc)

    def lag(self) -> dict[str, int]:
        """Messages behind the end of each topic, over this member's partitions."""
        assigned = list(self.consumer.assignment())
        if not assigned:
            return {}
        ends = self.consumer.end_offsets(assigned)
        lag = {topic: 0 for topic in self.topics.values()}
        for tp in assigned:
            position = self.consumer.position(tp)
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends.get(tp, position) - position)
        return lag

    @property
    def assigned(self) -> bool:
        return bool(self.consumer.assignment())

    def close(self):
        self.consumer.close()

