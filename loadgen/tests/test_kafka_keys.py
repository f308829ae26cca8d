"""Keys of loadgen's Kafka path: which messages a request becomes, and what each is keyed by.
(tests/test_collector_keys.py sends through a real broker and checks the partitions.)"""

import random

import pytest
from loadgen import otlp
from loadgen.events import step_events
from loadgen.cli import main
from loadgen.exporters import Signal
from loadgen.kafka_export import KafkaSender, keyed_messages, resource_key, service_key
from loadgen.registry import get_scenario
from loadgen.series import Timeline
from loadgen.topology import SERVICES
from loadgen.traces import step_traces
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

START = 1_767_225_600


def _batch(steps=20):
    return Timeline(get_scenario("memory-leak"), START, 15, 1).next_batch(steps)


def _resource(**attrs) -> Resource:
    resource = Resource()
    for key, value in attrs.items():
        kv = resource.attributes.add()
        kv.key, kv.value.string_value = key.replace("_", "."), value
    return resource


def test_resource_and_service_keys():
    pod = _resource(service_name="checkout", service_namespace="shop", service_instance_id="checkout-7f9")
    assert resource_key(pod) == "shop/checkout/checkout-7f9"
    assert service_key(pod) == "shop/checkout"
    node = _resource(host_name="node-3")
    assert resource_key(node) == "host/node-3"
    assert service_key(node) is None
    assert resource_key(_resource()) is None


def test_metrics_one_message_per_resource():
    request = encode_metrics(otlp.metrics_data(_batch(), START))
    messages = keyed_messages(Signal.METRICS, request)
    assert sorted(key.decode() for key, _ in messages) == sorted(f"/{s.name}/{s.instance_id}" for s in SERVICES)
    points = 0
    for key, payload in messages:
        part = ExportMetricsServiceRequest.FromString(payload)
        assert [resource_key(rm.resource).encode() for rm in part.resource_metrics] == [key]
        points += sum(len(m.gauge.data_points) + len(m.sum.data_points) + len(m.histogram.data_points)
                      for rm in part.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    assert points == _batch().point_count(), "no point lost or doubled by the split"


def test_logs_of_one_service_share_a_message_and_key_across_instances():
    request = encode_logs(otlp.log_records(step_events(_batch(), 15)))
    # A second instance of every service: its logs must go with the first's.
    for rl in list(request.resource_logs):
        twin = request.resource_logs.add()
        twin.CopyFrom(rl)
        for kv in twin.resource.attributes:
            if kv.key == "service.instance.id":
                kv.value.string_value += "-twin"
    messages = keyed_messages(Signal.LOGS, request)
    keys = [key for key, _ in messages]
    assert len(keys) == len(set(keys)) == len({service_key(rl.resource) for rl in request.resource_logs})
    for key, payload in messages:
        part = ExportLogsServiceRequest.FromString(payload)
        assert {service_key(rl.resource).encode() for rl in part.resource_logs} == {key}
        instances = {kv.value.string_value for rl in part.resource_logs for kv in rl.resource.attributes
                     if kv.key == "service.instance.id"}
        assert len(instances) == 2


def _spans():
    return encode_spans(otlp.spans(step_traces(_batch(4), 15, 1, random.Random(3))))


def test_traces_by_trace_id_keep_both_sides_of_each_call_together():
    request = _spans()
    messages = keyed_messages(Signal.TRACES, request)
    traces = {span.trace_id for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans}
    assert len(messages) == len(traces) > 1
    multi_service = 0
    for key, payload in messages:
        part = ExportTraceServiceRequest.FromString(payload)
        spans = [(span, rs.resource) for rs in part.resource_spans for ss in rs.scope_spans for span in ss.spans]
        assert {span.trace_id.hex().encode() for span, _ in spans} == {key}
        ids = {span.span_id for span, _ in spans}
        # Every parent inside the trace is in the same message as its child.
        assert all(not span.parent_span_id or span.parent_span_id in ids for span, _ in spans)
        multi_service += len({service_key(resource) for _, resource in spans}) > 1
    assert multi_service > 0, "calls between services should appear in one message"


def test_traces_by_service():
    messages = keyed_messages(Signal.TRACES, _spans(), trace_key="service")
    for key, payload in messages:
        part = ExportTraceServiceRequest.FromString(payload)
        assert {service_key(rs.resource).encode() for rs in part.resource_spans} == {key}
    assert len(messages) == len({key for key, _ in messages}) > 1


def test_unknown_trace_key_is_refused_before_connecting():
    with pytest.raises(ValueError, match="invalid trace key 'span'"):
        KafkaSender("127.0.0.1:1", 1.0, trace_key="span")


def test_cli_refuses_two_paths_at_once(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "memory-leak", "--kafka-bootstrap", "127.0.0.1:1", "--endpoint", "http://127.0.0.1:1"])
    assert exit_info.value.code == 2
    assert "--endpoint and --kafka-bootstrap exclude each other" in capsys.readouterr().err


def test_cli_says_when_the_broker_cannot_be_reached(capsys):
    code = main(["run", "memory-leak", "--kafka-bootstrap", "127.0.0.1:1", "--duration", "1m", "--timeout", "1"])
    assert code == 1
    assert "cannot reach Kafka at 127.0.0.1:1" in capsys.readouterr().err
