"""What the end-to-end benchmark watches: the broker's offsets, the replicas' /metrics and
every process's CPU time (from /proc, so the figures are the kernel's own)."""
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import requests
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families

TOPICS = {"metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces"}
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (threads included)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """CPU time every process on the machine has used so far (all cores, idle and iowait left out)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICKS


@dataclass
class Sample:
    at: float
    produced: int  # messages at the end of every partition
    committed: int  # messages the group has committed
    cpu: dict  # process name -> CPU seconds so far
    replicas: list = field(default_factory=list)  # per replica: (points accepted, lag gauge sum)


class Offsets:
    """End offsets of the three topics and one group's committed offsets."""

    def __init__(self, bootstrap: str, group: str | None, partitions: int):
        self.group = group
        self.partitions = [TopicPartition(t, p) for t in TOPICS.values() for p in range(partitions)]
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap) if group else None

    def produced(self) -> int:
        return sum(self.consumer.end_offsets(self.partitions).values())

    def committed(self) -> int:
        if not self.admin:
            return 0
        offsets = self.admin.list_group_offsets({self.group: self.partitions}).get(self.group, {})
        return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp in self.partitions)

    def close(self):
        self.consumer.close()
        if self.admin:
            self.admin.close()


def replica_health(url: str) -> tuple[float, float]:
    """(points accepted so far, consumer lag in messages) from one replica's /metrics."""
    text = requests.get(url + "/metrics", timeout=5).text
    accepted = lag = 0.0
    for family in text_string_to_metric_families(text):
        if family.name == "foresight_points_ingested":
            accepted = sum(s.value for s in family.samples if s.name.endswith("_total"))
        elif family.name == "foresight_consumer_lag_messages":
            lag = sum(s.value for s in family.samples)
    return accepted, lag


def sample(offsets: Offsets, pids: dict, replica_urls: list) -> Sample:
    cpu = {"machine (every process)": machine_busy_seconds()}
    for name, pid in pids.items():
        try:
            cpu[name] = cpu_seconds(pid)
        except OSError:
            cpu[name] = float("nan")
    replicas = []
    for url in replica_urls:
        try:
            replicas.append(replica_health(url))
        except requests.RequestException:
            replicas.append((float("nan"), float("nan")))
    committed = offsets.committed()  # before the end offsets, which only grow
    return Sample(time.monotonic(), offsets.produced(), committed, cpu, replicas)


def _events(signal: str, payload: bytes) -> int:
    if signal == "metrics":
        req = ExportMetricsServiceRequest.FromString(payload)
        return sum(len(getattr(m, m.WhichOneof("data")).data_points)
                   for rm in req.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    if signal == "logs":
        req = ExportLogsServiceRequest.FromString(payload)
        return sum(len(sl.log_records) for rl in req.resource_logs for sl in rl.scope_logs)
    req = ExportTraceServiceRequest.FromString(payload)
    return sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)


class PlainReader(threading.Thread):
    """The baseline: a kafka-python consumer that only reads the three topics. Every
    `parse_every`-th message is parsed to learn each topic's events per byte."""

    def __init__(self, bootstrap: str, partitions: int, parse_every: int = 10):
        super().__init__(daemon=True)
        # No group: it reads every partition from the start and commits nothing.
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                      enable_auto_commit=False)
        self.consumer.assign([TopicPartition(t, p) for t in TOPICS.values() for p in range(partitions)])
        self.parse_every = parse_every
        self.messages, self.bytes = Counter(), Counter()
        self.parsed_bytes, self.parsed_events = Counter(), Counter()
        self.stop_event = threading.Event()
        self.signals = {topic: signal for signal, topic in TOPICS.items()}

    def run(self):
        while not self.stop_event.is_set():
            for tp, records in self.consumer.poll(timeout_ms=200).items():
                signal = self.signals[tp.topic]
                for record in records:
                    self.messages[signal] += 1
                    self.bytes[signal] += len(record.value)
                    if self.messages[signal] % self.parse_every == 1:
                        self.parsed_bytes[signal] += len(record.value)
                        self.parsed_events[signal] += _events(signal, record.value)
        self.consumer.close()

    def events(self) -> float:
        """Events read so far, from the bytes read and each topic's events per byte."""
        return sum(self.bytes[s] * self.parsed_events[s] / self.parsed_bytes[s] for s in self.bytes
                   if self.parsed_bytes[s])

    def stop(self):
        self.stop_event.set()
        self.join(10)
