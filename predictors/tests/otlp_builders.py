"""Build OTLP protobuf payloads for tests, the way the collector's Kafka exporter writes them."""
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

NS = 10**9
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA


def _resource(rm, service, instance=None):
    kv = rm.resource.attributes.add(key="service.name")
    kv.value.string_value = service
    if instance:
        kv = rm.resource.attributes.add(key="service.instance.id")
        kv.value.string_value = instance


def metrics_request(service="checkout", instance="checkout-0"):
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    _resource(rm, service, instance)
    return req, rm.scope_metrics.add()


def add_gauge(scope, name, unit, points, attrs=None):
    m = scope.metrics.add(name=name, unit=unit)
    for t, v in points:
        dp = m.gauge.data_points.add(time_unix_nano=int(t * NS), as_double=v)
        for k, val in (attrs or {}).items():
            dp.attributes.add(key=k).value.string_value = val
    return m


def add_sum(scope, name, unit, points, monotonic=True, temporality=CUMULATIVE):
    m = scope.metrics.add(name=name, unit=unit)
    m.sum.is_monotonic = monotonic
    m.sum.aggregation_temporality = temporality
    for t, v in points:
        m.sum.data_points.add(time_unix_nano=int(t * NS), as_int=int(v))
    return m


def add_histogram(scope, name, unit, t, bounds, counts, total, temporality=CUMULATIVE):
    m = scope.metrics.add(name=name, unit=unit)
    m.histogram.aggregation_temporality = temporality
    dp = m.histogram.data_points.add(time_unix_nano=int(t * NS), count=sum(counts), sum=total)
    dp.explicit_bounds.extend(bounds)
    dp.bucket_counts.extend(counts)
    return m


def gauge_payload(name, unit, points, service="checkout", instance="checkout-0") -> bytes:
    req, scope = metrics_request(service, instance)
    add_gauge(scope, name, unit, points)
    return req.SerializeToString()


def logs_payload(service, records) -> bytes:
    """records: (unix seconds, severity text, body)"""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    _resource(rl, service)
    sl = rl.scope_logs.add()
    for t, severity, body in records:
        r = sl.log_records.add(time_unix_nano=int(t * NS), severity_text=severity)
        r.body.string_value = body
    return req.SerializeToString()


def traces_payload(service, spans) -> bytes:
    """spans: (start, end, error)"""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    _resource(rs, service)
    ss = rs.scope_spans.add()
    for i, (start, end, error) in enumerate(spans):
        sp = ss.spans.add(name="GET /checkout", trace_id=bytes([i + 1] * 16), span_id=bytes([i + 1] * 8),
                          start_time_unix_nano=int(start * NS), end_time_unix_nano=int(end * NS))
        sp.status.code = 2 if error else 1
    return req.SerializeToString()
