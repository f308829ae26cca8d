"""OpenTelemetry Collector configuration.

The contrib collector (otel/opentelemetry-collector-contrib) cannot run here, so this
checks the file's structure against the collector's documented configuration: every
component a pipeline names is defined, and the kafka, prometheusremotewrite and
otlphttp exporters carry the settings the rest of the stack relies on.
"""

from __future__ import annotations

import re

from stack_helpers import REPO, load_yaml

CFG = load_yaml("otel-collector/config.yaml")
PIPELINES = CFG["service"]["pipelines"]


def test_pipelines_reference_defined_components():
    for name, pipeline in PIPELINES.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in (CFG.get(kind) or {}), f"pipeline {name}: {kind[:-1]} {component} is not defined"
    for ext in CFG["service"].get("extensions", []):
        assert ext in CFG["extensions"]


def test_pipeline_wiring():
    assert PIPELINES["metrics"]["exporters"] == ["kafka", "prometheusremotewrite"]
    assert PIPELINES["logs/kafka"]["exporters"] == ["kafka"]
    assert PIPELINES["logs/loki"]["exporters"] == ["otlphttp/loki"]
    assert PIPELINES["traces"]["exporters"] == ["kafka"]
    for pipeline in PIPELINES.values():
        assert pipeline["receivers"] == ["otlp"]
        assert pipeline["processors"][0] == "memory_limiter", "memory_limiter must come first"
        assert "batch" in pipeline["processors"]


def test_otlp_receiver_endpoints():
    protocols = CFG["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"


def test_kafka_topics_and_encoding():
    kafka = CFG["exporters"]["kafka"]
    assert kafka["brokers"] == ["${env:KAFKA_BROKERS}"]
    assert {s: kafka[s]["topic"] for s in ("metrics", "logs", "traces")} == {
        "metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces",
    }
    for signal in ("metrics", "logs", "traces"):
        assert kafka[signal]["encoding"] == "otlp_proto"
    assert "topic" not in kafka and "encoding" not in kafka, "use the per-signal keys"


def test_prometheus_and_loki_exporters():
    prw = CFG["exporters"]["prometheusremotewrite"]
    assert prw["endpoint"] == "http://prometheus:9090/api/v1/write"
    assert prw["resource_to_telemetry_conversion"]["enabled"] is False
    assert CFG["exporters"]["otlphttp/loki"]["endpoint"] == "http://loki:3100/otlp"


def test_self_metrics_and_health_check():
    readers = CFG["service"]["telemetry"]["metrics"]["readers"]
    prom = readers[0]["pull"]["exporter"]["prometheus"]
    assert (prom["host"], prom["port"]) == ("0.0.0.0", 8888)
    assert CFG["extensions"]["health_check"]["endpoint"] == "0.0.0.0:13133"


def test_image_pinned_in_dockerfile():
    text = (REPO / "otel-collector/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+$", text, re.M)
