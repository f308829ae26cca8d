import math

from otlp_builders import DELTA, add_gauge, add_histogram, add_sum, logs_payload, metrics_request, traces_payload

from foresight.contracts.points import COUNTER, DELTA as DELTA_KIND, GAUGE
from foresight.sources.otlp import decode_logs, decode_metrics, decode_traces, prometheus_name


def decode(req):
    return decode_metrics(req.SerializeToString())


def test_names_follow_the_prometheus_translation():
    assert prometheus_name("process.memory.usage", "By") == "process_memory_usage_bytes"
    assert prometheus_name("db.client.connection.timeouts", "{timeout}", counter=True) == (
        "db_client_connection_timeouts_total")
    assert prometheus_name("k8s.container.memory_limit", "By") == "k8s_container_memory_limit_bytes"
    assert prometheus_name("db.client.connection.wait_time", "s") == "db_client_connection_wait_time_seconds"
    assert prometheus_name("cpu.utilization", "1") == "cpu_utilization_ratio"
    assert prometheus_name("already_bytes", "By") == "already_bytes"
    assert prometheus_name("net.io", "By/s") == "net_io_bytes_per_seconds"


def test_gauge_with_resource_labels():
    req, scope = metrics_request("checkout", "checkout-0")
    add_gauge(scope, "process.memory.usage", "By", [(100, 5.0)], attrs={"memory.type": "heap"})
    out = decode(req)
    assert out.bad == {}
    (p,) = out.points
    assert p.metric == "process_memory_usage_bytes" and p.kind == GAUGE
    assert dict(p.labels) == {"job": "checkout", "instance": "checkout-0", "memory_type": "heap"}
    assert p.timestamp == 100 and p.value == 5.0


def test_sums_cumulative_delta_and_updown():
    req, scope = metrics_request()
    add_sum(scope, "db.client.connection.timeouts", "{timeout}", [(1, 10)])
    add_sum(scope, "jobs.done", "", [(1, 3)], temporality=DELTA)
    add_sum(scope, "db.client.connection.count", "{connection}", [(1, 7)], monotonic=False)
    kinds = {p.metric: p.kind for p in decode(req).points}
    assert kinds == {"db_client_connection_timeouts_total": COUNTER, "jobs_done_total": DELTA_KIND,
                     "db_client_connection_count": GAUGE}


def test_histogram_becomes_count_sum_and_cumulative_buckets():
    req, scope = metrics_request()
    add_histogram(scope, "http.server.request.duration", "s", 5, [0.1, 1.0], [2, 3, 1], 4.5)
    pts = {(p.metric, dict(p.labels).get("le")): p.value for p in decode(req).points}
    assert pts[("http_server_request_duration_seconds_count", None)] == 6
    assert pts[("http_server_request_duration_seconds_sum", None)] == 4.5
    assert pts[("http_server_request_duration_seconds_bucket", "0.1")] == 2
    assert pts[("http_server_request_duration_seconds_bucket", "1")] == 5
    assert pts[("http_server_request_duration_seconds_bucket", "+Inf")] == 6


def test_non_finite_values_are_counted_and_dropped():
    req, scope = metrics_request()
    add_gauge(scope, "g", "", [(1, math.nan), (2, math.inf), (3, 1.0)])
    out = decode(req)
    assert out.bad["non_finite_value"] == 2 and [p.value for p in out.points] == [1.0]


def test_unknown_metric_type_is_counted():
    req, scope = metrics_request()
    scope.metrics.add(name="mystery")  # no data field set
    out = decode(req)
    assert out.points == [] and out.bad["unknown_metric_type"] == 1


def test_malformed_protobuf_is_counted_for_every_signal():
    for decoder in (decode_metrics, decode_logs, decode_traces):
        out = decoder(b"\xff\xff\xff garbage")
        assert out.points == [] and out.bad["malformed_protobuf"] == 1


def test_logs_count_by_service_and_severity():
    out = decode_logs(logs_payload("checkout", [(1, "ERROR", "pool exhausted"), (2, "INFO", "ok")]))
    labels = sorted(dict(p.labels)["severity"] for p in out.points)
    assert labels == ["error", "info"] and all(p.metric == "log_records_total" for p in out.points)


def test_spans_count_by_status_at_end_time():
    out = decode_traces(traces_payload("db", [(1, 1.5, False), (2, 2.5, True)]))
    assert [(p.timestamp, dict(p.labels)["status"]) for p in out.points] == [(1.5, "ok"), (2.5, "error")]
