"""OTLP exporters for the three signals, over HTTP/protobuf or gRPC, with failures counted."""

import logging
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import urlparse

from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"


class Protocol(Enum):
    HTTP = "http/protobuf"
    GRPC = "grpc"


class Signal(Enum):
    METRICS = "metrics"
    LOGS = "logs"
    TRACES = "traces"


def parse_protocol(text: str) -> Protocol:
    try:
        return Protocol(text)
    except ValueError:
        raise ValueError(
            f"invalid protocol {text!r}: expected one of {', '.join(p.value for p in Protocol)}"
        ) from None


DEFAULT_ENDPOINTS = {Protocol.HTTP: "http://127.0.0.1:4318", Protocol.GRPC: "http://127.0.0.1:4317"}


def resolve_endpoint(protocol: Protocol, given: str | None) -> str:
    """--endpoint, else OTEL_EXPORTER_OTLP_ENDPOINT, else the protocol's local default."""
    endpoint = given or os.environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINTS[protocol]
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"invalid endpoint {endpoint!r}: expected http(s)://host:port")
    if protocol is Protocol.HTTP and "://" not in endpoint:
        raise ValueError(f"invalid endpoint {endpoint!r} for http/protobuf: expected http(s)://host:port")
    return endpoint.rstrip("/")


class _LastMessage(logging.Handler):
    """Keeps the SDK exporters' latest complaint so our one-line report can say why."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text = record.getMessage().splitlines()[0]


@dataclass
class ExportStats:
    attempted: Counter = field(default_factory=Counter)
    failed: Counter = field(default_factory=Counter)
    metric_points: int = 0  # data points in successful metric exports

    def all_failed(self) -> bool:
        return sum(self.attempted.values()) > 0 and self.failed == self.attempted


class OtlpSender:
    def __init__(self, protocol: Protocol, endpoint: str, timeout_s: float):
        self.protocol = protocol
        self.endpoint = endpoint
        self.stats = ExportStats()
        self._sdk_complaint = _LastMessage()
        # The SDK's own failure logs would repeat ours; keep only their text for our report.
        self._sdk_logger = logging.getLogger("opentelemetry.exporter.otlp")
        self._sdk_logger.addHandler(self._sdk_complaint)
        self._sdk_logger.propagate = False
        self._exporters = _make_exporters(protocol, endpoint, timeout_s)

    def target(self, signal: Signal) -> str:
        if self.protocol is Protocol.HTTP:
            return f"{self.endpoint}/v1/{signal.value}"
        return self.endpoint

    def send(self, signal: Signal, items, point_count: int = 0) -> bool:
        """Export one batch; on failure say so on stderr and carry on."""
        if not items:
            return True
        self._sdk_complaint.text = ""
        result = self._exporters[signal].export(items)
        self.stats.attempted[signal] += 1
        # Each signal has its own result enum; all name success SUCCESS.
        if result.name == "SUCCESS":
            self.stats.metric_points += point_count
            return True
        self.stats.failed[signal] += 1
        reason = self._sdk_complaint.text or "exporter reported failure"
        print(
            f"loadgen: {signal.value} export to {self.target(signal)} failed "
            f"({self.stats.failed[signal]} so far): {reason}",
            file=sys.stderr,
            flush=True,
        )
        return False

    def shutdown(self) -> None:
        for exporter in self._exporters.values():
            exporter.shutdown()
        self._sdk_logger.removeHandler(self._sdk_complaint)
        self._sdk_logger.propagate = True


def _make_exporters(protocol: Protocol, endpoint: str, timeout_s: float) -> dict:
    if protocol is Protocol.HTTP:
        return {
            Signal.METRICS: HttpMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=timeout_s),
            Signal.LOGS: HttpLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=timeout_s),
            Signal.TRACES: HttpSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout_s),
        }
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    address, insecure = parsed.netloc, parsed.scheme != "https"
    return {
        Signal.METRICS: GrpcMetricExporter(endpoint=address, insecure=insecure, timeout=timeout_s),
        Signal.LOGS: GrpcLogExporter(endpoint=address, insecure=insecure, timeout=timeout_s),
        Signal.TRACES: GrpcSpanExporter(endpoint=address, insecure=insecure, timeout=timeout_s),
    }
