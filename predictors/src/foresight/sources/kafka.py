"""Consume OTLP protobuf from the collector's Kafka topics as a consumer group."""
import logging

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

log = logging.getLogger(__name__)

DEFAULT_TOPICS = {"metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces"}


class KafkaSource:
    def __init__(self, bootstrap: str, group: str, topics: dict | None = None, security=None):
        self.topics = dict(topics or DEFAULT_TOPICS)
        self._signal_of = {topic: signal for signal, topic in self.topics.items()}
        servers = [s.strip() for s in bootstrap.split(",")]
        if security is not None:  # sources.kafka_security.KafkaSecurity: TLS and SASL
            security.probe(servers)  # kafka-python's TLS handshake has no deadline; this fails instead of hanging
        self.consumer = KafkaConsumer(
            *self.topics.values(),
            bootstrap_servers=servers,
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
            **(security.consumer_options() if security is not None else {}),
        )

    def poll(self, timeout_ms: int = 500, max_records: int | None = None) -> list[tuple]:
        """Up to `max_records` messages (default max_poll_records) as (signal, payload,
        partition, offset), the partition named "topic/partition"; the rest stay buffered."""
        batches = self.consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        out = []
        for tp, records in batches.items():
            signal, name = self._signal_of.get(tp.topic), f"{tp.topic}/{tp.partition}"
            out.extend((signal, r.value, name, r.offset) for r in records if r.value is not None)
        return out

    def listen(self, revoked, assigned):
        """Call `revoked(names)` and `assigned(names) -> {name: offset to read from}` at each
        rebalance, inside `poll` (partitions named "topic/partition")."""
        consumer = self.consumer

        class Rebalance(ConsumerRebalanceListener):
            def on_partitions_revoked(self, partitions):
                revoked({f"{tp.topic}/{tp.partition}" for tp in partitions})

            def on_partitions_assigned(self, partitions):
                seek = assigned({f"{tp.topic}/{tp.partition}" for tp in partitions})
                for name, offset in seek.items():
                    topic, _, partition = name.rpartition("/")
                    consumer.seek(TopicPartition(topic, int(partition)), offset)

        consumer.subscribe(topics=list(self.topics.values()), listener=Rebalance())

    def partition_count(self) -> int:
        """Partitions of the subscribed topics, across the group."""
        return sum(len(self.consumer.partitions_for_topic(topic) or ()) for topic in self.topics.values())

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
        try:  # a short wait: while the broker is down this would block the loop, then raise
            ends = self.consumer.end_offsets(assigned, timeout_ms=2000)
            lag = {topic: 0 for topic in self.topics.values()}
            for tp in assigned:
                position = self.consumer.position(tp, timeout_ms=2000)
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, ends.get(tp, position) - position)
        except KafkaError as exc:
            log.warning("consumer lag unknown: %s", exc)
            return {}
        return lag

    @property
    def assigned(self) -> bool:
        return bool(self.consumer.assignment())

    def close(self):
        self.consumer.close()

