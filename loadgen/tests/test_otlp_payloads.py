"""Run loadgen against a local capture server and decode what it sent."""

import io
import json
import time
from contextlib import redirect_stdout

import pytest
from conftest import running_receiver
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from loadgen.cli import main
from loadgen.player import UNPACED_FLUSH_SIM_S
from loadgen.topology import CALLS, DB_CLIENT_SERVICES, SERVICES, http_services

START = 1767225600
STEP = 15
NANOS = 10**9


def run(receiver, *extra):
    endpoint = f"http://127.0.0.1:{receiver.server_port}"
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["run", "memory-leak", "--endpoint", endpoint, "--speed", "0", "--json", *extra])
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def decode(receiver, path, message_type):
    requests = []
    for body in receiver.bodies.get(path, []):
        request = message_type()
        request.ParseFromString(body)
        requests.append(request)
    return requests


def metric_points(requests):
    """{(service, metric name): [(unit, kind, point), ...]} over all requests."""
    found = {}
    for request in requests:
        for resource_metrics in request.resource_metrics:
            attrs = {a.key: a.value.string_value for a in resource_metrics.resource.attributes}
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    kind = metric.WhichOneof("data")
                    for point in getattr(metric, kind).data_points:
                        found.setdefault((attrs["service.name"], metric.name), []).append((metric, kind, point))
                    assert attrs["service.instance.id"] == attrs["service.name"] + "-0"
    return found


@pytest.fixture(scope="module")
def ten_hour_run():
    """One unpaced 10 h memory-leak run (the OOM kill falls at ~8 h), shared by the checks below."""
    with running_receiver() as receiver:
        code, events = run(receiver, "--duration", "10h", "--step", f"{STEP}s")
    return receiver, code, events


def test_metrics_have_contract_names_units_and_simulated_times(ten_hour_run):
    receiver, code, events = ten_hour_run
    assert code == 0
    points = metric_points(decode(receiver, "/v1/metrics", ExportMetricsServiceRequest))
    # Up-down counters are non-monotonic cumulative sums, as the SDK exports them.
    expected = {
        ("checkout", "process.memory.usage"): ("By", "sum"),
        ("checkout", "k8s.container.memory_limit"): ("By", "gauge"),
        ("db", "process.memory.usage"): ("By", "sum"),
        ("db", "k8s.container.cpu_limit_utilization"): ("1", "gauge"),
        ("checkout", "db.client.connection.count"): ("{connection}", "sum"),
        ("checkout", "db.client.connection.max"): ("{connection}", "sum"),
        ("checkout", "db.client.connection.wait_time"): ("s", "histogram"),
        ("db", "system.filesystem.usage"): ("By", "sum"),
        ("db", "system.filesystem.utilization"): ("1", "gauge"),
        ("payments", "http.server.request.duration"): ("s", "histogram"),
    }
    assert {name for _, name in points} == {name for _, name in expected} | {"http.server.request.duration"}
    for key, (unit, kind) in expected.items():
        assert key in points, key
        metric, found_kind, _ = points[key][0]
        assert (metric.unit, found_kind) == (unit, kind), key
        if kind == "sum":
            assert not metric.sum.is_monotonic and metric.sum.aggregation_temporality == 2  # CUMULATIVE
            assert points[key][0][2].WhichOneof("value") == "as_int"
    steps = 10 * 3600 // STEP
    times = [p.time_unix_nano for _, _, p in points[("checkout", "process.memory.usage")]]
    assert times == [(START + k * STEP) * NANOS for k in range(steps)]
    assert abs(times[-1] / NANOS - time.time()) > 86400  # nothing stamped with the wall clock
    limit = {p.as_int for _, _, p in points[("checkout", "k8s.container.memory_limit")]}
    assert limit == {2147483648}


def test_request_duration_is_cumulative_per_route_and_status_code(ten_hour_run):
    receiver, _, _ = ten_hour_run
    points = metric_points(decode(receiver, "/v1/metrics", ExportMetricsServiceRequest))
    by_status = {}
    for metric, _, point in points[("checkout", "http.server.request.duration")]:
        assert metric.histogram.aggregation_temporality == 2  # CUMULATIVE
        assert point.start_time_unix_nano == START * NANOS
        attributes = {a.key: a.value.string_value for a in point.attributes}
        code = attributes.pop("http.response.status_code")
        assert attributes == {"http.request.method": "POST", "http.route": "/api/checkout", "url.scheme": "http",
                              **({"error.type": "500"} if code == "500" else {})}
        by_status.setdefault(code, []).append(point)
    assert set(by_status) == {"200", "500"}
    for series in by_status.values():
        series.sort(key=lambda p: p.time_unix_nano)
        assert series[0].count == 0 and series[-1].count > 0
        assert all(sum(p.bucket_counts) == p.count for p in series)
        assert all(b.count >= a.count for a, b in zip(series, series[1:]))


def test_spans_link_parents_across_service_resources(ten_hour_run):
    receiver, _, _ = ten_hour_run
    spans = {}
    for request in decode(receiver, "/v1/traces", ExportTraceServiceRequest):
        for resource_spans in request.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes
                           if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    spans[span.span_id] = (service, span)
    assert spans
    parents_seen = set()
    for service, span in spans.values():
        assert START * NANOS - STEP * NANOS <= span.start_time_unix_nano < span.end_time_unix_nano
        assert span.end_time_unix_nano <= (START + 10 * 3600) * NANOS
        if service == "frontend":
            assert span.parent_span_id == b""
            continue
        parent_service, parent = spans[span.parent_span_id]
        assert parent.trace_id == span.trace_id
        assert parent.start_time_unix_nano <= span.start_time_unix_nano
        parents_seen.add((parent_service, service))
    assert parents_seen == set(CALLS)


def test_logs_escalate_to_the_oom_kill_at_the_failure_event(ten_hour_run):
    receiver, _, events = ten_hour_run
    records = []
    for request in decode(receiver, "/v1/logs", ExportLogsServiceRequest):
        for resource_logs in request.resource_logs:
            service = next(a.value.string_value for a in resource_logs.resource.attributes
                           if a.key == "service.name")
            for scope in resource_logs.scope_logs:
                records += [(service, r) for r in scope.log_records]
    assert {service for service, _ in records} == {s.name for s in http_services()}
    assert all(r.time_unix_nano >= START * NANOS and r.severity_text for _, r in records)
    failures = [e for e in events if e["event"] == "failure"]
    assert failures == [{"event": "failure", "sim_time": failures[0]["sim_time"], "service": "checkout",
                         "resource": "memory", "metric": "process_memory_usage_bytes", "limit": 2147483648}]
    oom = [r for _, r in records if r.body.string_value.startswith("OOMKilled")]
    assert len(oom) == 1 and oom[0].time_unix_nano == failures[0]["sim_time"] * NANOS
    assert oom[0].severity_number == 17
    gc_warnings = [r for s, r in records if s == "checkout" and "GC overhead" in r.body.string_value]
    assert gc_warnings and all(r.time_unix_nano < oom[0].time_unix_nano for r in gc_warnings)


def test_json_events_frame_the_run(ten_hour_run):
    _, _, events = ten_hour_run
    assert events[0]["event"] == "start" and events[0]["sim_time"] == START
    assert events[0]["scenario"] == "memory-leak" and events[0]["speed"] == 0
    assert events[-1] == {"event": "end", "sim_time": START + 36000, "exported_points": events[-1]["exported_points"],
                          "failed_exports": 0}
    # Memory usage and limit per service; per DB client its pool's used, idle and max connections and
    # wait histogram; db's CPU, three filesystem states and utilization; per HTTP service one duration
    # histogram per status code.
    series = 2 * len(SERVICES) + 4 * len(DB_CLIENT_SERVICES) + 5 + 2 * len(http_services())
    assert series == 31
    assert events[-1]["exported_points"] == (36000 // STEP) * series


def test_paced_run_follows_the_simulated_clock(otlp_receiver, capsys):
    began = time.monotonic()
    code = main(["run", "healthy-day", "--endpoint", f"http://127.0.0.1:{otlp_receiver.server_port}",
                 "--speed", "1200", "--duration", "40m", "--step", "15s", "--json"])
    elapsed = time.monotonic() - began
    assert code == 0
    assert 1.9 <= elapsed < 4.0  # 2400 simulated seconds at 1200x
    # Points are batched per flush (~0.5 s), not sent one request per step.
    assert 3 <= len(otlp_receiver.bodies["/v1/metrics"]) <= 8


def test_unreachable_collector_is_reported_and_exits_1(capsys):
    code = main(["run", "disk-fill", "--endpoint", "http://127.0.0.1:9", "--speed", "0",
                 "--duration", "15m", "--timeout", "0.5", "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert "metrics export to http://127.0.0.1:9/v1/metrics failed" in captured.err
    end = json.loads(captured.out.splitlines()[-1])
    # 15 minutes in flushes of UNPACED_FLUSH_SIM_S (5 min), each sending metrics, logs and traces
    assert end["failed_exports"] == 3 * (15 * 60 // UNPACED_FLUSH_SIM_S) and end["exported_points"] == 0


def test_history_is_sent_first_and_fast_and_keeps_the_scenario_anchored(otlp_receiver, capsys):
    code = main(["run", "memory-leak", "--endpoint", f"http://127.0.0.1:{otlp_receiver.server_port}",
                 "--start", "2026-01-01T00:00:00Z", "--history", "1d", "--speed", "1200", "--duration", "40m",
                 "--step", "15s", "--json"])
    assert code == 0
    points = metric_points(decode(otlp_receiver, "/v1/metrics", ExportMetricsServiceRequest))
    times = [p.time_unix_nano // NANOS for _, _, p in points[("checkout", "process.memory.usage")]]
    start = 1767225600
    assert times[0] == start - 86400 and times[-1] == start + 40 * 60 - 15
    assert times == sorted(times) and len(set(times)) == len(times)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0]["sim_time"] == start  # the scenario still starts (and fails) where it did
