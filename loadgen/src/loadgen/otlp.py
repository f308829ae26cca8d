"""Building OpenTelemetry SDK data objects stamped with simulated time.

The SDK's readers and processors stamp wall-clock time, so the export objects are built
here directly from the simulated values and handed to the OTLP exporters.
"""

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.metrics.export import (AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric,
                                              MetricsData, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from .catalog import DURATION_BUCKETS_S, Kind, MetricSpec
from .events import LogEvent
from .series import Batch, SeriesKey
from .topology import SERVICES, service
from .traces import SpanPlan

SCOPE = InstrumentationScope("loadgen", "0.1.0")
_NANOS = 10**9


def to_nanos(unix_seconds: float) -> int:
    return round(unix_seconds * _NANOS)


def resource_for(service_name: str) -> Resource:
    return Resource(
        {"service.name": service_name, "service.instance.id": service(service_name).instance_id}
    )


# One Resource object per service so the encoders group each service's data together.
_RESOURCES = {svc.name: resource_for(svc.name) for svc in SERVICES}


def metrics_data(batch: Batch, run_start: int) -> MetricsData:
    """All of a batch's points, grouped by service and metric, time-ordered within each series."""
    start_ns = to_nanos(run_start)
    times_ns = [to_nanos(t) for t in batch.times.tolist()]
    by_service: dict[str, dict[MetricSpec, list]] = {}
    for key, values in batch.values.items():
        points = [
            NumberDataPoint(
                attributes=dict(key.attributes),
                start_time_unix_nano=start_ns,
                time_unix_nano=t,
                value=_number(key, v),
            )
            for t, v in zip(times_ns, values.tolist())
        ]
        by_service.setdefault(key.service, {}).setdefault(key.metric, []).extend(points)
    for key, series in batch.histograms.items():
        points = [
            HistogramDataPoint(
                attributes=dict(key.attributes),
                start_time_unix_nano=start_ns,
                time_unix_nano=times_ns[i],
                count=int(series.counts[i]),
                sum=float(series.sums[i]),
                bucket_counts=series.bucket_counts[i].tolist(),
                explicit_bounds=list(DURATION_BUCKETS_S),
                min=float(series.mins[i]),
                max=float(series.maxs[i]),
            )
            for i in range(len(times_ns))
        ]
        by_service.setdefault(key.service, {}).setdefault(key.metric, []).extend(points)
    return MetricsData(
        resource_metrics=[
            ResourceMetrics(
                resource=_RESOURCES[name],
                scope_metrics=[
                    ScopeMetrics(
                        scope=SCOPE,
                        metrics=[_metric(spec, points) for spec, points in metrics.items()],
                        schema_url="",
                    )
                ],
                schema_url="",
            )
            for name, metrics in by_service.items()
        ]
    )


def _number(key: SeriesKey, value: float) -> int | float:
    # Bytes and connections are whole numbers; OTLP then encodes them as integers, as real instruments do.
    return int(value) if key.metric.integer else float(value)


def _metric(spec: MetricSpec, points: list) -> Metric:
    if spec.kind is Kind.GAUGE:
        data = Gauge(data_points=points)
    elif spec.kind is Kind.UP_DOWN:
        data = Sum(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=False)
    else:
        data = Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)
    return Metric(name=spec.name, description=spec.description, unit=spec.unit, data=data)


def log_records(events: list[LogEvent]) -> list[ReadableLogRecord]:
    return [
        ReadableLogRecord(
            log_record=LogRecord(
                timestamp=to_nanos(e.time),
                observed_timestamp=to_nanos(e.time),
                severity_text=e.severity.name,
                severity_number=SeverityNumber(e.severity.value),
                body=e.body,
            ),
            resource=_RESOURCES[e.service],
            instrumentation_scope=SCOPE,
        )
        for e in events
    ]


def spans(plans: list[SpanPlan]) -> list[ReadableSpan]:
    return [_span(plan) for plan in plans]


def _span(plan: SpanPlan) -> ReadableSpan:
    sampled = TraceFlags(TraceFlags.SAMPLED)
    parent = (
        SpanContext(plan.trace_id, plan.parent_span_id, is_remote=True, trace_flags=sampled)
        if plan.parent_span_id is not None
        else None
    )
    return ReadableSpan(
        name=plan.name,
        context=SpanContext(plan.trace_id, plan.span_id, is_remote=False, trace_flags=sampled),
        parent=parent,
        resource=_RESOURCES[plan.service],
        attributes=plan.attributes,
        kind=SpanKind.SERVER,
        status=Status(StatusCode.ERROR) if plan.failed else Status(StatusCode.UNSET),
        start_time=to_nanos(plan.start),
        end_time=to_nanos(plan.end),
        instrumentation_scope=SCOPE,
    )
