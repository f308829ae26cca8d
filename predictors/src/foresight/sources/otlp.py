"""Decode OTLP protobuf (as the collector's Kafka exporter writes it) into points.

Names and labels follow the OpenTelemetry-to-Prometheus translation (docs/metrics.md), so
a selector matches the same series here and in Prometheus. Nothing raises: malformed or
hostile input is counted by reason (`DecodeResult.bad`) and dropped, within the caps of
labels.py. Unwanted metrics are skipped before any of their points is read, and names and
label sets are cached, since each scrape repeats the last one's series.
"""
import logging
from collections import Counter

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from foresight.contracts.points import COUNTER, DELTA, GAUGE, LogLine, Point

from .labels import (LABEL_TOO_LONG, MAX_LABEL_VALUE_LENGTH, MAX_LABELS, MAX_NANOS, TIMESTAMP_OUT_OF_RANGE,
                     TOO_MANY_LABELS, LabelMaker, any_value, bucket_labels,
                     checked, metric_name, prometheus_name, resource_labels, sanitize)

log = logging.getLogger(__name__)
_NO_RECORDED_VALUE = 1  # DataPointFlags.FLAG_NO_RECORDED_VALUE: a staleness marker, not data
_DELTA_TEMPORALITY = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
_new = tuple.__new__  # Point(...) without NamedTuple's Python-level __new__: one per data point
MAX_LOG_BODY = 16384  # characters of a log body kept for template mining


class DecodeResult:
    def __init__(self):
        self.points: list[Point] = []
        self.log_lines: list[LogLine] = []
        self.trace_request = None  # the parsed ExportTraceServiceRequest, for the service graph
        self.bad = Counter()  # reason -> count

    def add(self, metric, labels, nanos, value, kind):
        if not 0 < nanos < MAX_NANOS:
            self.bad[TIMESTAMP_OUT_OF_RANGE] += 1
        elif value - value != 0.0:  # NaN or infinite
            self.bad["non_finite_value"] += 1
        elif labels.__class__ is str:  # a label cap refused the point
            self.bad[labels] += 1
        elif len(metric) > MAX_LABEL_VALUE_LENGTH:  # the name is the __name__ label
            self.bad[LABEL_TOO_LONG] += 1
        else:
            self.points.append(_new(Point, (metric, labels, nanos / 1e9, value, kind)))


def _parse(message_class, payload: bytes, out: DecodeResult):
    """The parsed request, or None after counting the payload as malformed."""
    req = message_class()
    try:
        req.ParseFromString(payload)
    except (DecodeError, RuntimeError, ValueError, TypeError):  # upb: nesting past its limit, not bytes
        out.bad["malformed_protobuf"] += 1
        return None
    return req


def _guarded(decode):
    """Whatever a payload does, the decoder returns: an unexpected failure drops the message and
    counts it as `undecodable`, so no input can stop the sidecar."""
    def run(payload, *args):
        try:
            return decode(payload, *args)
        except Exception as exc:  # noqa: BLE001 - hostile input must never stop the consumer
            log.debug("undecodable message (%s: %s)", type(exc).__name__, exc)
            out = DecodeResult()
            out.bad["undecodable"] += 1
            return out
    run.__name__, run.__doc__ = decode.__name__, decode.__doc__
    return run


class _Everything:
    def __contains__(self, name) -> bool:
        return True


EVERYTHING = _Everything()


@_guarded
def decode_metrics(payload: bytes, wanted=EVERYTHING) -> DecodeResult:
    """Points of the series whose Prometheus names are in `wanted` (by default all): a
    sidecar decodes only what its predictors read, the rest of the payload is skipped."""
    out = DecodeResult()
    if (req := _parse(ExportMetricsServiceRequest, payload, out)) is None:
        return out
    for rm in req.resource_metrics:
        maker = None  # made on the first wanted metric of the resource
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                data = metric.WhichOneof("data")
                if data == "gauge" or data == "sum":
                    maker = _decode_number(metric, data, rm, maker, out, wanted)
                elif data is None:
                    out.bad["unknown_metric_type"] += 1
                else:
                    if maker is None:
                        maker = LabelMaker(resource_labels(rm.resource))
                    _OTHER_KINDS[data](metric, maker, out, wanted)
    return out


def _decode_number(metric, data, rm, maker, out: DecodeResult, wanted) -> LabelMaker | None:
    """A gauge's or a sum's points; returns the resource's label maker once one is made."""
    if data == "gauge":
        container, kind = metric.gauge, GAUGE
        name = metric_name(metric.name, metric.unit, False)
    else:
        container = metric.sum
        # A cumulative up-down sum is a gauge; deltas are added to a running total.
        kind = DELTA if container.aggregation_temporality == _DELTA_TEMPORALITY else (
            COUNTER if container.is_monotonic else GAUGE)
        name = metric_name(metric.name, metric.unit, container.is_monotonic)
    if name not in wanted:
        return maker
    points = container.data_points
    if len(name) > MAX_LABEL_VALUE_LENGTH:  # the name is the __name__ label
        out.bad[LABEL_TOO_LONG] += len(points)
        return maker
    if maker is None:
        maker = LabelMaker(resource_labels(rm.resource))
    append, bad, cache, bare = out.points.append, out.bad, maker.cache, maker.bare
    for dp in points:
        if dp.flags & _NO_RECORDED_VALUE:
            continue
        nanos = dp.time_unix_nano
        value = dp.as_double
        if not value and dp.WhichOneof("value") == "as_int":  # one call for the common double
            value = float(dp.as_int)
        # LabelMaker.labels, inlined: this loop runs once per data point.
        attributes = dp.attributes
        n = len(attributes)
        if n == 0:
            labels = bare
        elif n <= MAX_LABELS:
            raw = []  # keys and string values, flat: fewer objects for the garbage collector
            for kv in attributes:
                raw.append(kv.key)
                raw.append(kv.value.string_value)
            raw = tuple(raw)
            labels = cache.get(raw)
            if labels is None:
                labels = maker.miss(raw, attributes)
        else:
            labels = TOO_MANY_LABELS
        if not 0 < nanos < MAX_NANOS:
            bad[TIMESTAMP_OUT_OF_RANGE] += 1
        elif value - value != 0.0:  # NaN or infinite
            bad["non_finite_value"] += 1
        elif labels.__class__ is str:
            bad[labels] += 1
        else:
            append(_new(Point, (name, labels, nanos / 1e9, value, kind)))
    return maker


def _decode_histogram(metric, maker: LabelMaker, out: DecodeResult, wanted):
    h = metric.histogram
    kind = DELTA if h.aggregation_temporality == _DELTA_TEMPORALITY else COUNTER
    name = metric_name(metric.name, metric.unit, False)
    count, total, buckets = (f"{name}_count" in wanted, f"{name}_sum" in wanted, f"{name}_bucket" in wanted)
    if not (count or total or buckets):
        return
    for dp in h.data_points:
        if dp.flags & _NO_RECORDED_VALUE:
            continue
        labels = maker.labels(dp.attributes)
        nanos = dp.time_unix_nano
        if count:
            out.add(name + "_count", labels, nanos, float(dp.count), kind)
        if total and dp.HasField("sum"):
            out.add(name + "_sum", labels, nanos, float(dp.sum), kind)
        if not buckets:
            continue
        bounds = tuple(dp.explicit_bounds) + (float("inf"),)
        if labels.__class__ is str:
            out.bad[labels] += min(len(bounds), len(dp.bucket_counts))
            continue
        running = 0
        for bucket, n in zip(bucket_labels(labels, bounds), dp.bucket_counts):
            running += n
            out.add(name + "_bucket", bucket, nanos, float(running), kind)


def _decode_exponential(metric, maker: LabelMaker, out: DecodeResult, wanted):
    eh = metric.exponential_histogram
    kind = DELTA if eh.aggregation_temporality == _DELTA_TEMPORALITY else COUNTER
    name = metric_name(metric.name, metric.unit, False)
    if f"{name}_count" not in wanted and f"{name}_sum" not in wanted:
        return
    for dp in eh.data_points:
        if not dp.flags & _NO_RECORDED_VALUE:
            labels = maker.labels(dp.attributes)
            out.add(name + "_count", labels, dp.time_unix_nano, float(dp.count), kind)
            out.add(name + "_sum", labels, dp.time_unix_nano, float(dp.sum), kind)


def _decode_summary(metric, maker: LabelMaker, out: DecodeResult, wanted):
    name = metric_name(metric.name, metric.unit, False)
    if not any(n in wanted for n in (name, f"{name}_count", f"{name}_sum")):
        return
    for dp in metric.summary.data_points:
        labels = maker.labels(dp.attributes)
        out.add(name + "_count", labels, dp.time_unix_nano, float(dp.count), COUNTER)
        out.add(name + "_sum", labels, dp.time_unix_nano, float(dp.sum), COUNTER)
        for q in dp.quantile_values:
            ql = labels if labels.__class__ is str else checked(dict(labels, quantile=repr(q.quantile)))
            out.add(name, ql, dp.time_unix_nano, float(q.value), GAUGE)


_OTHER_KINDS = {"histogram": _decode_histogram, "exponential_histogram": _decode_exponential,
                "summary": _decode_summary}


def _severity(record) -> str:
    text = record.severity_text.strip().lower()
    if text:
        return {"warning": "warn", "err": "error", "critical": "fatal"}.get(text, text)
    n = record.severity_number
    for floor, name in ((21, "fatal"), (17, "error"), (13, "warn"), (9, "info"), (5, "debug"), (1, "trace")):
        if n >= floor:
            return name
    return "unspecified"


@_guarded
def decode_logs(payload: bytes) -> DecodeResult:
    """Each log record becomes an increment of `log_records_total{job, severity}`, and a
    LogLine for the `logs` predictors (its body cut at MAX_LOG_BODY characters)."""
    out = DecodeResult()
    if (req := _parse(ExportLogsServiceRequest, payload, out)) is None:
        return out
    for rl in req.resource_logs:
        base = resource_labels(rl.resource)
        for sl in rl.scope_logs:
            for record in sl.log_records:
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                severity = _severity(record)
                labels = checked(dict(base, severity=severity))
                before = len(out.points)
                out.add("log_records_total", labels, nanos, 1.0, DELTA)
                if len(out.points) > before:  # a record whose count was refused is not mined either
                    body = any_value(record.body, 4 * MAX_LOG_BODY)[:MAX_LOG_BODY]
                    out.log_lines.append(LogLine(nanos / 1e9, base.get("job", ""), severity, body))
    return out


@_guarded
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
                labels = checked(dict(base, status=status))
                out.add("spans_total", labels, span.end_time_unix_nano or span.start_time_unix_nano, 1.0, DELTA)
    return out


DECODERS = {"metrics": decode_metrics, "logs": decode_logs, "traces": decode_traces}
__all__ = ["DECODERS", "EVERYTHING", "DecodeResult", "decode_logs", "decode_metrics", "decode_traces",
           "prometheus_name", "resource_labels", "sanitize"]
