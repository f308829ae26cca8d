"""The fuzzer's input: real OTLP payloads as seeds, and the mutations it sends them through.

Seeds: loadgen's metrics, logs and traces (the OpenTelemetry SDK's encoders, one service per
metrics message, as a collector batch of one resource), and node_exporter-shaped metrics
(bench/scale/payloads.py) in chunks of 6 metrics per message.

Each message is one mutation kind (KINDS): left valid, bit flips, a truncation, a field
written with the wrong wire type (wire.py), random bytes, an empty message, a payload of
another signal, huge, zero or negative timestamps, NaN and infinities, over-long label
names and values, attributes and log bodies nested 10 to 200 deep, a huge array attribute,
a cardinality bomb (a batch of new series of a metric a predictor reads); every 10,000th
message (and the first) one point with 100,000 labels, and, offset by 5,000, a message over
the broker's limit.
"""
import math
import random
import sys
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

import wire

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
import payloads  # noqa: E402

REQUESTS = {"metrics": ExportMetricsServiceRequest, "logs": ExportLogsServiceRequest,
            "traces": ExportTraceServiceRequest}
BOMB_METRIC = "db_client_connection_wait_time_seconds_sum"  # read as a driver: stored, never a target
KINDS = {  # kind -> weight
    "valid": 30, "bit_flip": 14, "truncate": 10, "wrong_type": 10, "garbage": 3, "empty": 1, "other_signal": 3,
    "timestamp": 8, "non_finite": 6, "long_label": 3, "deep_nesting": 5, "huge_value": 2, "cardinality": 1,
}
RARE_EVERY = 10_000  # many_labels at i % RARE_EVERY == 0, oversize at i % RARE_EVERY == RARE_EVERY // 2
NS = 10**9


def seeds(scrapes: int = 40) -> dict[str, list[bytes]]:
    """Real payloads of each signal, small enough that a million of them fit the broker's memory."""
    from loadgen import otlp
    from loadgen.events import step_events
    from loadgen.registry import get_scenario
    from loadgen.series import Timeline
    from loadgen.traces import step_traces
    from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    timeline = Timeline(get_scenario("memory-leak"), payloads.START, payloads.STEP, 1)
    ids, rng = random.Random(1), random.Random(2)
    out = {"metrics": [], "logs": [], "traces": []}
    for k in range(scrapes):
        batch = timeline.next_batch(1)
        for rm in encode_metrics(otlp.metrics_data(batch, payloads.START)).resource_metrics:
            one = ExportMetricsServiceRequest()
            one.resource_metrics.add().CopyFrom(rm)
            out["metrics"].append(one.SerializeToString())
        events = step_events(batch, payloads.STEP)
        for service in sorted({e.service for e in events}):
            mine = [e for e in events if e.service == service]
            out["logs"].append(encode_logs(otlp.log_records(mine)).SerializeToString())
        plans = step_traces(batch, payloads.STEP, 1, ids)
        if plans:
            out["traces"].append(encode_spans(otlp.spans(plans)).SerializeToString())
        node = ExportMetricsServiceRequest.FromString(payloads.node_exporter_message([k % 4], k, rng))
        metrics = node.resource_metrics[0].scope_metrics[0].metrics
        for first in range(0, len(metrics), 6):
            part = ExportMetricsServiceRequest()
            rm = part.resource_metrics.add()
            rm.resource.CopyFrom(node.resource_metrics[0].resource)
            rm.scope_metrics.add().metrics.extend(metrics[first:first + 6])
            out["metrics"].append(part.SerializeToString())
    return out


def _data_points(req) -> list:
    found = []
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                kind = metric.WhichOneof("data")
                if kind:
                    found += [(kind, dp) for dp in getattr(metric, kind).data_points]
    return found


def _records(req, signal: str) -> list:
    if signal == "logs":
        return [r for rl in req.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    return [s for rs in req.resource_spans for ss in rs.scope_spans for s in ss.spans]


_NESTED: dict[int, AnyValue] = {}


def nested(depth: int) -> AnyValue:
    """An AnyValue `depth` maps and arrays deep (made once per depth)."""
    if depth not in _NESTED:
        top = AnyValue()
        value = top
        for level in range(depth):
            if level % 3:
                value = value.kvlist_value.values.add(key=f"level{level}").value
            else:
                value = value.array_value.values.add()
        value.string_value = "leaf"
        _NESTED[depth] = top
    return _NESTED[depth]


_HUGE = AnyValue()
_HUGE.array_value.values.extend(AnyValue(string_value=f"item-{i}") for i in range(1000))


def _bad_time(rng: random.Random, t: int) -> int:
    t = min(t, 2**63)
    return rng.choice([0, 1, 2**64 - 1, 2**63 + rng.getrandbits(40), 4_102_444_800 * NS + 1,
                       t + 10 * 365 * 86400 * NS, max(1, t - 10 * 365 * 86400 * NS)])


def _structural(kind: str, signal: str, payload: bytes, rng: random.Random) -> bytes:
    req = REQUESTS[signal].FromString(payload)
    if signal == "metrics":
        points = _data_points(req)
        if not points:
            return payload
        for _ in range(rng.randint(1, 3)):
            data, dp = rng.choice(points)
            if kind == "timestamp":
                dp.time_unix_nano = _bad_time(rng, dp.time_unix_nano)
            elif kind == "non_finite":
                value = rng.choice([math.nan, math.inf, -math.inf])
                if data in ("gauge", "sum"):
                    dp.as_double = value
                elif data != "summary":
                    dp.sum = value
            elif kind == "long_label":  # a value over 2048 characters, or a name over 1024
                if rng.random() < 0.5:
                    dp.attributes.add(key="long").value.string_value = "x" * rng.randint(2049, 8000)
                else:
                    dp.attributes.add(key="k" * rng.randint(1025, 4000)).value.string_value = "v"
            elif kind == "deep_nesting":
                dp.attributes.add(key="nested").value.CopyFrom(nested(rng.randint(10, 200)))
            elif kind == "huge_value":
                dp.attributes.add(key="huge").value.CopyFrom(_HUGE)
    else:
        records = _records(req, signal)
        if not records:
            return payload
        record = rng.choice(records)
        if kind == "timestamp":
            if signal == "logs":
                record.time_unix_nano = _bad_time(rng, record.time_unix_nano)
                record.observed_time_unix_nano = 0
            else:
                record.end_time_unix_nano = _bad_time(rng, record.end_time_unix_nano)
        elif kind == "deep_nesting":
            target = record.body if signal == "logs" else record.attributes.add(key="nested").value
            target.CopyFrom(nested(rng.randint(10, 200)))
        elif kind == "long_label":  # the service name: a label of every point of the resource
            resource = (req.resource_logs if signal == "logs" else req.resource_spans)[0].resource
            resource.attributes.add(key="service.name").value.string_value = "s" * rng.randint(2049, 8000)
        elif kind == "huge_value" and signal == "logs":
            record.body.string_value = "y" * rng.randint(16_385, 40_000)
        else:
            return payload
    return req.SerializeToString()


def cardinality_bomb(rng: random.Random, t: int, series: int = 100) -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = rng.choice(["checkout", "payments", "db"])
    metric = rm.scope_metrics.add().metrics.add(name=BOMB_METRIC)
    for _ in range(series):
        dp = metric.gauge.data_points.add(time_unix_nano=t, as_double=rng.random())
        dp.attributes.add(key="k8s.pod.name").value.string_value = f"pod-{rng.getrandbits(64):016x}"
    return req.SerializeToString()


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def many_labels(t: int, labels: int = 100_000) -> bytes:
    """One point with `labels` attributes (3-character names, no values: it stays under 1 MiB)."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = "checkout"
    dp = rm.scope_metrics.add().metrics.add(name="process.memory.usage", unit="By").gauge.data_points.add(
        time_unix_nano=t, as_double=1.0)
    for i in range(labels):
        dp.attributes.add(key=_DIGITS[i // 3844] + _DIGITS[i // 62 % 62] + _DIGITS[i % 62])
    return req.SerializeToString()


def oversize(t: int, limit: int) -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name").value.string_value = "checkout"
    metric = rm.scope_metrics.add().metrics.add(name="process.memory.usage", unit="By")
    while req.ByteSize() <= limit + 4096:
        for i in range(1000):
            dp = metric.gauge.data_points.add(time_unix_nano=t, as_double=float(i))
            dp.attributes.add(key="thread").value.string_value = f"worker-{len(metric.gauge.data_points)}"
    return req.SerializeToString()


class Mutator:
    def __init__(self, seed: int, broker_limit: int, scrapes: int = 40):
        self.rng = random.Random(seed)
        self.seeds = seeds(scrapes)
        self.limit = broker_limit
        self.kinds, self.weights = list(KINDS), list(KINDS.values())
        self.signals = ["metrics"] * 6 + ["logs"] * 2 + ["traces"] * 2
        self.t = payloads.START * NS
        self._many = self._oversize = None  # made once: a second copy would test nothing new

    def message(self, i: int) -> tuple[str, bytes, str]:
        """The i-th message: (signal, payload, mutation kind)."""
        rng = self.rng
        self.t += payloads.STEP * NS // 100  # bombs and rare kinds move on in event time
        if i % RARE_EVERY == 0:
            if self._many is None:
                self._many = many_labels(self.t)
            return "metrics", self._many, "many_labels"
        if i % RARE_EVERY == RARE_EVERY // 2 or i == 1:
            if self._oversize is None:
                self._oversize = oversize(self.t, self.limit)
            return "metrics", self._oversize, "oversize"
        kind = rng.choices(self.kinds, self.weights)[0]
        signal = rng.choice(self.signals)
        payload = rng.choice(self.seeds[signal])
        if kind == "valid":
            return signal, payload, kind
        if kind == "bit_flip":
            data = bytearray(payload)
            for _ in range(rng.randint(1, 8)):
                bit = rng.randrange(len(data) * 8)
                data[bit // 8] ^= 1 << (bit % 8)
            return signal, bytes(data), kind
        if kind == "truncate":
            return signal, payload[:rng.randrange(len(payload))], kind
        if kind == "wrong_type":
            return signal, wire.retype(payload, rng), kind
        if kind == "garbage":
            return signal, rng.randbytes(rng.randint(1, 2000)), kind
        if kind == "empty":
            return signal, b"", kind
        if kind == "other_signal":
            other = rng.choice([s for s in self.seeds if s != signal])
            return signal, rng.choice(self.seeds[other]), kind
        if kind == "cardinality":
            return "metrics", cardinality_bomb(rng, self.t), kind
        return signal, _structural(kind, signal, payload, rng), kind
