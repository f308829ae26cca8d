import inspect

import pytest
from opentelemetry.semconv._incubating.metrics import (db_metrics, http_metrics, k8s_metrics, process_metrics,
                                                      system_metrics)

from loadgen.catalog import (CPU_LIMIT_UTILIZATION, FS_USAGE, FS_UTILIZATION, MEMORY_LIMIT, MEMORY_USAGE,
                             POOL_CONNECTIONS, POOL_MAX, POOL_WAIT, REQUEST_DURATION, Kind)
from loadgen.naming import prometheus_name


def test_contract_examples():
    assert prometheus_name("process.memory.usage", "By") == "process_memory_usage_bytes"
    assert prometheus_name("db.client.connection.count", "{connection}") == "db_client_connection_count"
    assert prometheus_name("cpu.utilization", "1") == "cpu_utilization_ratio"


def test_catalogue_names_translate_as_the_contract_expects():
    assert MEMORY_USAGE.prometheus == "process_memory_usage_bytes"
    assert MEMORY_LIMIT.prometheus == "k8s_container_memory_limit_bytes"
    assert CPU_LIMIT_UTILIZATION.prometheus == "k8s_container_cpu_limit_utilization_ratio"
    assert POOL_CONNECTIONS.prometheus == "db_client_connection_count"
    assert POOL_MAX.prometheus == "db_client_connection_max"
    assert POOL_WAIT.prometheus == "db_client_connection_wait_time_seconds"
    assert FS_USAGE.prometheus == "system_filesystem_usage_bytes"
    assert FS_UTILIZATION.prometheus == "system_filesystem_utilization_ratio"
    assert REQUEST_DURATION.prometheus == "http_server_request_duration_seconds"


class RecordingMeter:
    """Stands in for a Meter: records the instrument a semantic-convention factory creates."""

    def __getattr__(self, method):
        def create(name, callbacks=None, description="", unit=""):
            self.created = (method.removeprefix("create_").removeprefix("observable_"), name, unit)
        return create


INSTRUMENTS = {Kind.GAUGE: "gauge", Kind.UP_DOWN: "up_down_counter", Kind.HISTOGRAM: "histogram"}


@pytest.mark.parametrize("spec, factory", [
    (MEMORY_USAGE, process_metrics.create_process_memory_usage),
    (POOL_CONNECTIONS, db_metrics.create_db_client_connection_count),
    (POOL_MAX, db_metrics.create_db_client_connection_max),
    (POOL_WAIT, db_metrics.create_db_client_connection_wait_time),
    (FS_USAGE, system_metrics.create_system_filesystem_usage),
    (FS_UTILIZATION, system_metrics.create_system_filesystem_utilization),
    (REQUEST_DURATION, http_metrics.create_http_server_request_duration),
])
def test_application_and_host_metrics_are_the_semantic_conventions_own(spec, factory):
    """Name, unit and instrument as the installed opentelemetry-semantic-conventions define them."""
    meter = RecordingMeter()
    if "callbacks" in inspect.signature(factory).parameters:
        factory(meter, None)
    else:
        factory(meter)
    assert meter.created == (INSTRUMENTS[spec.kind], spec.name, spec.unit)


@pytest.mark.parametrize("spec, convention", [
    (MEMORY_LIMIT, k8s_metrics.K8S_CONTAINER_MEMORY_LIMIT),  # deprecated in 1.41 for .limit.desired/.current
    (CPU_LIMIT_UTILIZATION, k8s_metrics.K8S_CONTAINER_CPU_LIMIT_UTILIZATION),
])
def test_receiver_metrics_share_the_conventions_prometheus_name(spec, convention):
    """The collector receivers' names differ from the conventions' only where Prometheus cannot tell."""
    assert spec.name != convention
    assert prometheus_name(convention, spec.unit) == spec.prometheus
