"""loadgen's Kafka path: OTLP protobuf straight into the collector's topics, keyed as the
compose collector keys them (otel-collector/config.yaml), so a consumer group's members
each get whole series, whole services and whole calls:
- metrics by resource: `service.namespace/service.name/service.instance.id`, or the host
  (`host.name`) for node-level series;
- logs by service: `service.namespace/service.name`;
- traces by trace id (both sides of every call on one partition), or by service.
Each message holds the data of one key.
"""

import sys
from collections import defaultdict

from kafka import KafkaProducer
from kafka.errors import KafkaError
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .exporters import ExportStats, Signal

TOPICS = {Signal.METRICS: "otlp_metrics", Signal.LOGS: "otlp_logs", Signal.TRACES: "otlp_traces"}
TRACE_KEYS = ("trace-id", "service")


def _attributes(resource) -> dict:
    return {kv.key: kv.value.string_value for kv in resource.attributes}


def service_key(resource) -> str | None:
    attrs = _attributes(resource)
    if not attrs.get("service.name"):
        return None
    return f"{attrs.get('service.namespace', '')}/{attrs['service.name']}"


def resource_key(resource) -> str | None:
    """A service instance, or else the host; None (no key) when the resource names neither."""
    attrs = _attributes(resource)
    service = service_key(resource)
    if service:
        return f"{service}/{attrs.get('service.instance.id', '')}"
    if attrs.get("host.name"):
        return f"host/{attrs['host.name']}"
    return None


def _by_key(request, field: str, key_of) -> list[tuple[bytes | None, bytes]]:
    groups = defaultdict(list)
    for item in getattr(request, field):
        groups[key_of(item.resource)].append(item)
    out = []
    for key, items in groups.items():
        part = type(request)()
        getattr(part, field).extend(items)
        out.append((key.encode() if key is not None else None, part.SerializeToString()))
    return out


def _by_trace(request: ExportTraceServiceRequest) -> list[tuple[bytes, bytes]]:
    """One message per trace id, its spans under their own resource and scope."""
    parts: dict[bytes, ExportTraceServiceRequest] = {}
    for rs in request.resource_spans:
        for ss in rs.scope_spans:
            spans_of = defaultdict(list)
            for span in ss.spans:
                spans_of[span.trace_id].append(span)
            for trace_id, spans in spans_of.items():
                part = parts.setdefault(trace_id, ExportTraceServiceRequest())
                new_rs = part.resource_spans.add(resource=rs.resource, schema_url=rs.schema_url)
                new_rs.scope_spans.add(scope=ss.scope, schema_url=ss.schema_url).spans.extend(spans)
    return [(trace_id.hex().encode(), part.SerializeToString()) for trace_id, part in parts.items()]


def keyed_messages(signal: Signal, request, trace_key: str = "trace-id") -> list[tuple[bytes | None, bytes]]:
    """(key, payload) per message for one OTLP export request."""
    if signal is Signal.METRICS:
        return _by_key(request, "resource_metrics", resource_key)
    if signal is Signal.LOGS:
        return _by_key(request, "resource_logs", service_key)
    if trace_key == "service":
        return _by_key(request, "resource_spans", service_key)
    return _by_trace(request)


_ENCODERS = {Signal.METRICS: encode_metrics, Signal.LOGS: encode_logs, Signal.TRACES: encode_spans}


class KafkaSender:
    """Same surface as exporters.OtlpSender (send, stats, endpoint, shutdown), into Kafka."""

    def __init__(self, bootstrap: str, timeout_s: float, trace_key: str = "trace-id"):
        if trace_key not in TRACE_KEYS:
            raise ValueError(f"invalid trace key {trace_key!r}: expected one of {', '.join(TRACE_KEYS)}")
        self.endpoint = f"kafka://{bootstrap}"
        self.trace_key = trace_key
        self.timeout_s = timeout_s
        self.stats = ExportStats()
        ms = int(timeout_s * 1000)  # --timeout bounds reaching the broker too, not only a send
        self.producer = KafkaProducer(bootstrap_servers=[s.strip() for s in bootstrap.split(",")],
                                      client_id="loadgen", acks=1, linger_ms=5, request_timeout_ms=ms,
                                      bootstrap_timeout_ms=ms, max_block_ms=ms)

    def target(self, signal: Signal) -> str:
        return f"{self.endpoint}/{TOPICS[signal]}"

    def send(self, signal: Signal, items, point_count: int = 0) -> bool:
        """Produce one batch, a message per key, and wait for the broker; on failure say so and carry on."""
        if not items:
            return True
        self.stats.attempted[signal] += 1
        try:
            messages = keyed_messages(signal, _ENCODERS[signal](items), self.trace_key)
            futures = [self.producer.send(TOPICS[signal], key=key, value=value) for key, value in messages]
            for future in futures:
                future.get(timeout=self.timeout_s)
        except KafkaError as error:
            self.stats.failed[signal] += 1
            print(f"loadgen: {signal.value} send to {self.target(signal)} failed "
                  f"({self.stats.failed[signal]} so far): {error}", file=sys.stderr, flush=True)
            return False
        self.stats.metric_points += point_count
        return True

    def shutdown(self) -> None:
        self.producer.close(timeout=self.timeout_s)
