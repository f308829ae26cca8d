"""Partition keys: which Kafka partition a signal's messages land on.

The compose collector's keys are checked against its configuration (the contrib collector
cannot run here). The local collector, rotel, runs for real: OTLP from several services goes
through it into a 4-partition broker (tansu), and each service's metrics and logs must land
on one partition while different services spread. loadgen's Kafka path runs for real too:
metrics and logs of a service on one partition, each trace on one partition.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict

import pytest
import requests
from kafka import KafkaConsumer, TopicPartition
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from stack_helpers import REPO, load_yaml

from foresight_dev.devstack.processes import python_script
from foresight_dev.devstack.stack import LocalStack

CFG = load_yaml("otel-collector/config.yaml")
SERVICES = [f"svc-{i}" for i in range(8)]
PARTITIONS = 4
T0 = 1_767_225_600 * 10**9


def test_compose_collector_keys_each_signal():
    kafka = CFG["exporters"]["kafka"]
    assert kafka["partition_metrics_by_resource_attributes"] is True
    assert kafka["partition_logs_by_resource_attributes"] is True
    assert kafka["partition_traces_by_id"] is True


def test_compose_logs_to_kafka_keyed_by_service_only():
    pipelines = CFG["service"]["pipelines"]
    to_kafka = [name for name, p in pipelines.items() if name.split("/")[0] == "logs" and "kafka" in p["exporters"]]
    assert to_kafka == ["logs/kafka"]
    kafka_logs = pipelines["logs/kafka"]
    assert kafka_logs["exporters"] == ["kafka"], "Loki must not get the stripped copy"
    assert "transform/service_key" in kafka_logs["processors"]
    assert kafka_logs["processors"].index("transform/service_key") < kafka_logs["processors"].index("batch")
    assert "transform/service_key" not in pipelines["logs/loki"]["processors"]
    groups = CFG["processors"]["transform/service_key"]["log_statements"]
    by_context = {g["context"]: g["statements"] for g in groups}
    # The record keeps every resource attribute before the resource is cut to the service.
    assert [g["context"] for g in groups] == ["log", "resource"]
    assert by_context["log"] == ['merge_maps(attributes, resource.attributes, "insert")']
    assert by_context["resource"] == ['keep_keys(attributes, ["service.namespace", "service.name"])']


def _attr(target, key, value):
    kv = target.attributes.add()
    kv.key, kv.value.string_value = key, value


def _metrics(service: str, step: int) -> bytes:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    _attr(rm.resource, "service.name", service)
    _attr(rm.resource, "service.instance.id", f"{service}-0")
    metric = rm.scope_metrics.add().metrics.add()
    metric.name = "process.memory.usage"
    point = metric.gauge.data_points.add()
    point.time_unix_nano, point.as_double = T0 + step * 15 * 10**9, 1e6 + step
    return req.SerializeToString()


def _logs(service: str, step: int) -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    _attr(rl.resource, "service.name", service)
    _attr(rl.resource, "service.instance.id", f"{service}-0")
    record = rl.scope_logs.add().log_records.add()
    record.time_unix_nano, record.severity_text = T0 + step * 15 * 10**9, "INFO"
    record.body.string_value = f"step {step}"
    return req.SerializeToString()


def _consume(bootstrap: str, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=3000)
    consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
    records = []
    for _ in range(10):
        records += list(consumer)
        if len(records) >= expected:
            break
    consumer.close()
    return records


def _partitions_by_service(records, request_type) -> dict:
    seen = defaultdict(set)
    for record in records:
        req = request_type()
        req.ParseFromString(record.value)
        resources = list(getattr(req, "resource_metrics", None) or req.resource_logs)
        assert len(resources) == 1, "a keyed message holds one resource"
        assert record.key, "a keyed message has a key"
        service = {kv.key: kv.value.string_value for kv in resources[0].resource.attributes}["service.name"]
        seen[service].add(record.partition)
    return seen


@pytest.mark.integration
def test_rotel_keys_metrics_and_logs_by_resource(tmp_path):
    with LocalStack(tmp_path, REPO) as stack:
        bootstrap = stack.start_kafka(partitions=PARTITIONS)
        url = stack.start_collector()
        session = requests.Session()
        headers = {"Content-Type": "application/x-protobuf"}
        for step in range(5):
            # Separate requests per service and step: rotel merges them into batches
            # that mix services, which the keyed exporter must split again.
            for service in SERVICES:
                session.post(f"{url}/v1/metrics", data=_metrics(service, step), headers=headers).raise_for_status()
                session.post(f"{url}/v1/logs", data=_logs(service, step), headers=headers).raise_for_status()
        metrics = _partitions_by_service(_consume(bootstrap, "otlp_metrics", 5 * len(SERVICES)),
                                         ExportMetricsServiceRequest)
        logs = _partitions_by_service(_consume(bootstrap, "otlp_logs", 5 * len(SERVICES)), ExportLogsServiceRequest)
    for seen in (metrics, logs):
        assert set(seen) == set(SERVICES)
        assert all(len(parts) == 1 for parts in seen.values()), seen
        assert len(set().union(*seen.values())) >= 2, f"services did not spread over partitions: {seen}"


def _signal_partitions(bootstrap: str, topic: str, request_type, key_of) -> dict:
    """key_of(request) -> name, for every message of the topic: name -> partitions it landed on."""
    seen = defaultdict(set)
    for record in _consume(bootstrap, topic, 1):
        seen[key_of(request_type.FromString(record.value))].add(record.partition)
    return seen


def _one(values: set):
    assert len(values) == 1, f"a message mixes keys: {values}"
    return values.pop()


@pytest.mark.integration
def test_loadgen_kafka_path_keys(tmp_path):
    from loadgen.kafka_export import service_key
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    with LocalStack(tmp_path, REPO) as stack:
        bootstrap = stack.start_kafka(partitions=PARTITIONS)
        subprocess.run([python_script("loadgen"), "run", "memory-leak", "--kafka-bootstrap", bootstrap,
                        "--duration", "30m", "--speed", "0", "--json"], check=True, capture_output=True, timeout=120)
        metrics = _signal_partitions(bootstrap, "otlp_metrics", ExportMetricsServiceRequest,
                                     lambda r: _one({service_key(x.resource) for x in r.resource_metrics}))
        logs = _signal_partitions(bootstrap, "otlp_logs", ExportLogsServiceRequest,
                                  lambda r: _one({service_key(x.resource) for x in r.resource_logs}))
        traces = _signal_partitions(bootstrap, "otlp_traces", ExportTraceServiceRequest,
                                    lambda r: _one({s.trace_id for x in r.resource_spans for ss in x.scope_spans
                                                    for s in ss.spans}))
    assert len(metrics) == 5 and len(logs) >= 4 and len(traces) > 20  # db writes no logs of its own
    for seen in (metrics, logs, traces):
        assert all(len(parts) == 1 for parts in seen.values()), seen
        assert len(set().union(*seen.values())) >= 2, f"keys did not spread over partitions: {seen}"
