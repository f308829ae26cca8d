"""Hostile input on the decoders and the store: each case is counted by reason, never raised,
and nothing it sends can grow memory without bound."""
import math
import random
import struct

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from otlp_builders import NS, add_gauge, add_histogram, logs_payload, metrics_request, traces_payload

from foresight.config import load_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine
from foresight.sources import labels as caps
from foresight.sources.otlp import MAX_LOG_BODY, decode_logs, decode_metrics, decode_traces
from foresight.store import SeriesStore, StoreSettings

T0 = 1_767_225_600
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def gauge(points=((T0, 5.0),), attrs=None, service="checkout", instance="checkout-0") -> bytes:
    req, scope = metrics_request(service, instance)
    add_gauge(scope, "process.memory.usage", "By", list(points), attrs=attrs)
    return req.SerializeToString()


def real_payloads() -> list[tuple[str, bytes]]:
    req, scope = metrics_request()
    add_gauge(scope, "process.memory.usage", "By", [(T0, 5.0), (T0 + 15, 6.0)], attrs={"memory.type": "heap"})
    add_histogram(scope, "http.server.request.duration", "s", T0, [0.1, 1.0], [2, 3, 1], 4.5)
    return [("metrics", req.SerializeToString()),
            ("logs", logs_payload("checkout", [(T0, "ERROR", "pool exhausted"), (T0 + 1, "INFO", "ok")])),
            ("traces", traces_payload("checkout", [(T0, T0 + 1, False), (T0, T0 + 2, True)]))]


DECODE = {"metrics": decode_metrics, "logs": decode_logs, "traces": decode_traces}


def test_bit_flips_and_truncations_are_counted_never_raised():
    rng = random.Random(7)
    for signal, payload in real_payloads():
        for _ in range(300):
            data = bytearray(payload)
            for _ in range(rng.randint(1, 8)):
                bit = rng.randrange(len(data) * 8)
                data[bit // 8] ^= 1 << (bit % 8)
            out = DECODE[signal](bytes(data))
            assert all(math.isfinite(p.value) and 0 < p.timestamp < 4_102_444_800 for p in out.points)
        for cut in range(len(payload)):
            out = DECODE[signal](payload[:cut])
            assert out.bad.get("malformed_protobuf", 0) <= 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append(n & 0x7F | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def test_a_field_of_the_wrong_type_loses_its_value_not_the_message():
    # A data point whose time_unix_nano (field 3, fixed64) is written as a varint: the parser
    # keeps it as an unknown field, so the point has no time, and is counted for it.
    point = bytes([3 << 3 | 0]) + _varint(T0 * NS) + bytes([4 << 3 | 1]) + struct.pack("<d", 5.0)
    req, scope = metrics_request()
    scope.metrics.add(name="g").gauge.MergeFromString(b"\x0a" + _varint(len(point)) + point)
    add_gauge(scope, "process.memory.usage", "By", [(T0, 6.0)])
    out = decode_metrics(req.SerializeToString())
    assert out.bad == {"timestamp_out_of_range": 1} and [p.value for p in out.points] == [6.0]
    assert decode_metrics(b"\x08\x01").bad == {}  # field 1 as a varint: an unknown field, no data


@pytest.mark.parametrize("nanos", [0, 2**64 - 1, 2**63 + 5, caps.MAX_NANOS, caps.MAX_NANOS + NS])
def test_timestamps_out_of_range_are_counted(nanos):
    req, scope = metrics_request()
    m = scope.metrics.add(name="g")
    m.gauge.data_points.add(time_unix_nano=nanos, as_double=1.0)
    m.gauge.data_points.add(time_unix_nano=T0 * NS, as_double=2.0)
    out = decode_metrics(req.SerializeToString())
    assert out.bad == {"timestamp_out_of_range": 1} and [p.value for p in out.points] == [2.0]


def test_a_log_record_without_a_usable_time_is_counted_and_not_mined():
    req = ExportLogsServiceRequest()
    records = req.resource_logs.add().scope_logs.add().log_records
    records.add(time_unix_nano=0, observed_time_unix_nano=0).body.string_value = "no time"
    records.add(time_unix_nano=2**64 - 1).body.string_value = "far future"
    records.add(time_unix_nano=T0 * NS).body.string_value = "fine"
    out = decode_logs(req.SerializeToString())
    assert out.bad == {"timestamp_out_of_range": 2} and [line.body for line in out.log_lines] == ["fine"]


def test_non_finite_histogram_sums_are_counted():
    req, scope = metrics_request()
    add_histogram(scope, "http.server.request.duration", "s", T0, [0.1], [1, 1], math.nan)
    out = decode_metrics(req.SerializeToString())
    assert out.bad == {"non_finite_value": 1}
    assert {p.metric for p in out.points} == {"http_server_request_duration_seconds_count",
                                              "http_server_request_duration_seconds_bucket"}


def test_every_histogram_point_keeps_its_count():
    # Regression: the bucket loop once shadowed the `count` flag, so a point after one whose
    # +Inf bucket was 0 lost its _count series.
    req, scope = metrics_request()
    m = add_histogram(scope, "http.server.request.duration", "s", T0, [0.1], [0, 0], 0.0)
    dp = m.histogram.data_points.add(time_unix_nano=(T0 + 15) * NS, count=3, sum=1.0)
    dp.explicit_bounds.extend([0.1])
    dp.bucket_counts.extend([1, 2])
    counts = [p.value for p in decode_metrics(req.SerializeToString()).points if p.metric.endswith("_count")]
    assert counts == [0.0, 3.0]


def test_a_point_with_100000_labels_is_refused_before_they_are_read():
    req, scope = metrics_request()
    dp = scope.metrics.add(name="g").gauge.data_points.add(time_unix_nano=T0 * NS, as_double=1.0)
    for i in range(100_000):
        dp.attributes.add(key=f"k{i}")
    out = decode_metrics(req.SerializeToString())
    assert out.points == [] and out.bad == {"too_many_labels": 1}


def test_the_label_cap_counts_the_resource_labels_too():
    at_cap = {f"a{i}": "v" for i in range(caps.MAX_LABELS - 2)}  # + job + instance = MAX_LABELS
    assert len(decode_metrics(gauge(attrs=at_cap)).points) == 1
    over = dict(at_cap, one_more="v")
    assert decode_metrics(gauge(attrs=over)).bad == {"too_many_labels": 1}


def test_long_label_values_and_names_are_refused():
    limit = caps.MAX_LABEL_VALUE_LENGTH
    assert len(decode_metrics(gauge(attrs={"path": "x" * limit})).points) == 1
    assert decode_metrics(gauge(attrs={"path": "x" * (limit + 1)})).bad == {"label_too_long": 1}
    assert decode_metrics(gauge(attrs={"k" * (caps.MAX_LABEL_NAME_LENGTH + 1): "v"})).bad == {"label_too_long": 1}
    # A service name is a label of every point of its resource.
    out = decode_metrics(gauge(points=[(T0, 1.0), (T0 + 15, 2.0)], service="s" * (limit + 1)))
    assert out.points == [] and out.bad == {"label_too_long": 2}
    assert decode_traces(traces_payload("s" * (limit + 1), [(T0, T0 + 1, False)])).bad == {"label_too_long": 1}


def _nested(depth: int) -> AnyValue:
    top = value = AnyValue()
    for level in range(depth):
        value = value.kvlist_value.values.add(key=f"l{level}").value if level % 2 else value.array_value.values.add()
    value.string_value = "leaf"
    return top


def test_deep_nesting_in_attributes_and_log_bodies():
    req, scope = metrics_request()
    dp = scope.metrics.add(name="g").gauge.data_points.add(time_unix_nano=T0 * NS, as_double=1.0)
    dp.attributes.add(key="shallow").value.CopyFrom(_nested(5))
    (p,) = decode_metrics(req.SerializeToString()).points
    assert "leaf" in dict(p.labels)["shallow"]
    dp.attributes.add(key="deep").value.CopyFrom(_nested(120))  # past the protobuf parser's depth limit
    out = decode_metrics(req.SerializeToString())
    assert out.points == [] and out.bad == {"malformed_protobuf": 1}
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=T0 * NS)
    record.body.CopyFrom(_nested(20))
    (line,) = decode_logs(logs.SerializeToString()).log_lines
    assert "leaf" in line.body and len(line.body) <= MAX_LOG_BODY


def test_huge_attribute_values_are_refused_without_rendering_them():
    req, scope = metrics_request()
    dp = scope.metrics.add(name="g").gauge.data_points.add(time_unix_nano=T0 * NS, as_double=1.0)
    dp.attributes.add(key="blob").value.array_value.values.extend(
        AnyValue(string_value="x" * 100) for _ in range(10_000))
    assert decode_metrics(req.SerializeToString()).bad == {"label_too_long": 1}


def test_a_long_log_body_is_cut():
    (line,) = decode_logs(logs_payload("checkout", [(T0, "ERROR", "y" * 100_000)])).log_lines
    assert len(line.body) == MAX_LOG_BODY


def test_label_caches_stay_bounded(monkeypatch):
    monkeypatch.setattr(caps.LabelMaker, "LIMIT", 50)
    for i in range(500):
        decode_metrics(gauge(attrs={"pod": f"pod-{i}"}))
    held = sum(len(cache) for cache in caps.LabelMaker._by_resource.values())
    assert held <= 50 and caps.LabelMaker._entries <= 50


def test_a_cardinality_bomb_is_capped_by_max_series():
    store = SeriesStore(lambda metric, labels: True, StoreSettings(max_series=100))
    points = [Point("g", (("job", "a"), ("pod", f"p{i}")), T0 + i, 1.0, GAUGE) for i in range(1000)]
    assert store.add_points(points) == 1000
    assert len(store.windows) == 100 and store.evicted["max_series"] == 900


def test_a_point_the_store_cannot_read_is_counted_not_raised():
    store = SeriesStore(lambda metric, labels: True)
    assert store.add_points([Point("g", None, T0, 1.0, GAUGE)]) == 0
    assert store.bad == {"unreadable_point": 1}


def test_a_dropped_derived_point_is_not_bad_input():
    store = SeriesStore(lambda metric, labels: True)
    point = Point("log_anomaly_score", (("job", "a"),), T0, 0.5, GAUGE)
    assert store.add_derived(point) and not store.add_derived(point)
    assert store.bad == {} and store.derived_dropped == {"duplicate": 1}


def test_the_engine_never_raises_on_hostile_input():
    engine = Engine(load_config(REPO / "predictors" / "config" / "predictors.yaml"))
    rng = random.Random(3)
    payloads = [p for _, p in real_payloads()] + [gauge()]
    for i in range(600):
        signal = ("metrics", "logs", "traces")[i % 3]
        data = bytearray(rng.choice(payloads))
        if i % 2:
            data = data[:rng.randrange(len(data) + 1)]
        for _ in range(rng.randint(0, 6)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        engine.take(signal, engine.decode(signal, bytes(data)))
    engine.evaluate()
    assert sum(engine.bad_input().values()) > 0
