"""Decode OTLP protobuf (as the collector's Kafka exporter writes it) into points.

Names and labels follow the OpenTelemetry-to-Prometheus translation (docs/metrics.md), so
a selector matches the same series here and in Prometheus.
"""
import math
import re
from collections import Counter

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from foresight.contracts.points import COUNTER, DELTA, GAUGE, LogLine, Point
from foresight.contracts.selectors import sanitize_name as sanitize  # config errors suggest the same names

_NO_RECORDED_VALUE = 1  # DataPointFlags.FLAG_NO_RECORDED_VALUE: a staleness marker, not data
_UNIT_SUFFIX = {
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
    "min": "minutes", "h": "hours", "d": "days", "1": "ratio", "%": "percent",
    "Hz": "hertz", "Cel": "celsius", "V": "volts", "W": "watts", "A": "amperes",
}


def prometheus_name(name: str, unit: str = "", counter: bool = False) -> str:
    """`process.memory.usage` + `By` -> `process_memory_usage_bytes`."""
    base = sanitize(name)
    unit = re.sub(r"\{[^}]*\}", "", unit or "").strip()
    suffix = _UNIT_SUFFIX.get(unit, sanitize(unit) if unit else "")
    if "/" in unit:
        num, _, den = unit.partition("/")
        suffix = "_per_".join(filter(None, (_UNIT_SUFFIX.get(num, sanitize(num)) if num else "",
                                            _UNIT_SUFFIX.get(den, sanitize(den)))))
    if suffix == "ratio" and counter:
        suffix = ""
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    if counter and not base.endswith("_total"):
        base += "_total"
    return base


def _any_value(v) -> str:
    kind = v.WhichOneof("value")
    return "" if kind is None else str(getattr(v, kind))


def resource_labels(resource) -> dict:
    attrs = {kv.key: _any_value(kv.value) for kv in resource.attributes}
    labels = {}
    service = attrs.get("service.name", "")
    if service:
        ns = attrs.get("service.namespace")
        labels["job"] = f"{ns}/{service}" if ns else service
    if attrs.get("service.instance.id"):
        labels["instance"] = attrs["service.instance.id"]
    return labels


def _labels(base: dict, attributes, extra=None) -> tuple:
    labels = dict(base)
    for kv in attributes:
        labels[sanitize(kv.key)] = _any_value(kv.value)
    if extra:
        labels.update(extra)
    return tuple(sorted(labels.items()))


def _seconds(nanos: int) -> float:
    return nanos / 1e9


def _number(dp) -> float:
    return float(dp.as_double) if dp.WhichOneof("value") == "as_double" else float(dp.as_int)


def _le(bound: float) -> str:
    """Bucket bounds as the collector's translation writes them: 0.25, 1, +Inf."""
    if bound == math.inf:
        return "+Inf"
    text = repr(float(bound))
    return text[:-2] if text.endswith(".0") else text


class DecodeResult:
    def __init__(self):
        self.points: list[Point] = []
        self.log_lines: list[LogLine] = []
        self.trace_request = None  # the parsed ExportTraceServiceRequest, for the service graph
        self.bad = Counter()  # reason -> count

    def add(self, metric, labels, nanos, value, kind):
        if not math.isfinite(value):
            self.bad["non_finite_value"] += 1
            return
        self.points.append(Point(metric, labels, _seconds(nanos), value, kind))


def _parse(message_class, payload: bytes, out: DecodeResult):
    """The parsed request, or None after counting the payload as malformed."""
    req = message_class()
    try:
        req.ParseFromString(payload)
    except DecodeError:
        out.bad["malformed_protobuf"] += 1
        return None
    return req


class _Everything:
    def __contains__(self, name) -> bool:
        return True


EVERYTHING = _Everything()


def decode_metrics(payload: bytes, wanted=EVERYTHING) -> DecodeResult:
    """Points of the series whose Prometheus names are in `wanted` (by default all): a
    sidecar decodes only what its predictors read, the rest of the payload is skipped."""
    out = DecodeResult()
    if (req := _parse(ExportMetricsServiceRequest, payload, out)) is None:
        return out
    for rm in req.resource_metrics:
        base = None  # made on the first wanted metric of the resource
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if base is None:
                    base = resource_labels(rm.resource)
                _decode_metric(metric, base, out, wanted)
    return out


def _decode_metric(metric, base, out: DecodeResult, wanted=EVERYTHING):
    data = metric.WhichOneof("data")
    if data == "gauge":
        name = prometheus_name(metric.name, metric.unit)
        if name not in wanted:
            return
        for dp in metric.gauge.data_points:
            if not dp.flags & _NO_RECORDED_VALUE:
                out.add(name, _labels(base, dp.attributes), dp.time_unix_nano, _number(dp), GAUGE)
    elif data == "sum":
        s = metric.sum
        delta = s.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        name = prometheus_name(metric.name, metric.unit, counter=s.is_monotonic)
        if name not in wanted:
            return
        # A cumulative up-down sum is a gauge; deltas are added to a running total.
        kind = DELTA if delta else (COUNTER if s.is_monotonic else GAUGE)
        for dp in s.data_points:
            if not dp.flags & _NO_RECORDED_VALUE:
                out.add(name, _labels(base, dp.attributes), dp.time_unix_nano, _number(dp), kind)
    elif data == "histogram":
        h = metric.histogram
        delta = h.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        kind = DELTA if delta else COUNTER
        name = prometheus_name(metric.name, metric.unit)
        count, total, buckets = (f"{name}_count" in wanted, f"{name}_sum" in wanted, f"{name}_bucket" in wanted)
        if not (count or total or buckets):
            return
        for dp in h.data_points:
            if dp.flags & _NO_RECORDED_VALUE:
                continue
            labels_base = _labels(base, dp.attributes)
            if count:
                out.add(name + "_count", labels_base, dp.time_unix_nano, float(dp.count), kind)
            if total and dp.HasField("sum"):
                out.add(name + "_sum", labels_base, dp.time_unix_nano, float(dp.sum), kind)
            if not buckets:
                continue
            running = 0
            bounds = list(dp.explicit_bounds) + [math.inf]
            for bound, count in zip(bounds, dp.bucket_counts):
                running += count
                labels = tuple(sorted(dict(labels_base, le=_le(bound)).items()))
                out.add(name + "_bucket", labels, dp.time_unix_nano, float(running), kind)
    elif data == "exponential_histogram":
        eh = metric.exponential_histogram
        delta = eh.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        name = prometheus_name(metric.name, metric.unit)
        if f"{name}_count" not in wanted and f"{name}_sum" not in wanted:
            return
        for dp in eh.data_points:
            if not dp.flags & _NO_RECORDED_VALUE:
                labels = _labels(base, dp.attributes)
                out.add(name + "_count", labels, dp.time_unix_nano, float(dp.count), DELTA if delta else COUNTER)
                out.add(name + "_sum", labels, dp.time_unix_nano, float(dp.sum), DELTA if delta else COUNTER)
    elif data == "summary":
        name = prometheus_name(metric.name, metric.unit)
        if not any(n in wanted for n in (name, f"{name}_count", f"{name}_sum")):
            return
        for dp in metric.summary.data_points:
            labels = _labels(base, dp.attributes)
            out.add(name + "_count", labels, dp.time_unix_nano, float(dp.count), COUNTER)
            out.add(name + "_sum", labels, dp.time_unix_nano, float(dp.sum), COUNTER)
            for q in dp.quantile_values:
                ql = tuple(sorted(dict(labels, quantile=repr(q.quantile)).items()))
                out.add(name, ql, dp.time_unix_nano, float(q.value), GAUGE)
    else:
        out.bad["unknown_metric_type"] += 1


def _severity(record) -> str:
    text = record.severity_text.strip().lower()
    if text:
        return {"warning": "warn", "err": "error", "critical": "fatal"}.get(text, text)
    n = record.severity_number
    for floor, name in ((21, "fatal"), (17, "error"), (13, "warn"), (9, "info"), (5, "debug"), (1, "trace")):
        if n >= floor:
            return name
    return "unspecified"


def decode_logs(payload: bytes) -> DecodeResult:
    """Each log record becomes an increment of `log_records_total{job, severity}`, and a
    LogLine for the `logs` predictors."""
    out = DecodeResult()
    if (req := _parse(ExportLogsServiceRequest, payload, out)) is None:
        return out
    for rl in req.resource_logs:
        base = resource_labels(rl.resource)
        for sl in rl.scope_logs:
            for record in sl.log_records:
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                severity = _severity(record)
                labels = tuple(sorted(dict(base, severity=severity).items()))
                out.add("log_records_total", labels, nanos, 1.0, DELTA)
                out.log_lines.append(LogLine(_seconds(nanos), base.get("job", ""), severity, _any_value(record.body)))
    return out


def decode_traces(payload: bytes) -> DecodeResult:
    """Each span becomes an increment of `spans_total{job, status}` at its end time."""
    out = DecodeResult()
    if (req := _parse(ExportTraceServiceRequest, payload, out)) is None:
        return out
    out.trace_request = req
    for rs in req.resource_spans:
        base = resource_labels(rs.resource)
        for ss in rs.scope_spans:
            for span in ss.spans:
                status = "error" if span.status.code == 2 else "ok"
                labels = tuple(sorted(dict(base, status=status).items()))
                out.add("spans_total", labels, span.end_time_unix_nano or span.start_time_unix_nano, 1.0, DELTA)
    return out


DECODERS = {"metrics": decode_metrics, "logs": decode_logs, "traces": decode_traces}
