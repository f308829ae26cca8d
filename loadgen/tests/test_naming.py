from loadgen.catalog import MEMORY_USAGE, POOL_IN_USE, POOL_WAIT, REQUEST_COUNT, REQUEST_DURATION
from loadgen.naming import prometheus_name


def test_contract_examples():
    assert prometheus_name("process.memory.usage", "By") == "process_memory_usage_bytes"
    assert prometheus_name("http.server.request.count", "{request}", monotonic_sum=True) == (
        "http_server_request_count_total"
    )
    assert prometheus_name("cpu.utilization", "1") == "cpu_utilization_ratio"


def test_catalogue_names_translate_as_the_contract_expects():
    assert MEMORY_USAGE.prometheus == "process_memory_usage_bytes"
    assert POOL_IN_USE.prometheus == "db_client_connection_count"
    assert POOL_WAIT.prometheus == "db_client_connection_wait_time_seconds"
    assert REQUEST_COUNT.prometheus == "http_server_request_count_total"
    assert REQUEST_DURATION.prometheus == "http_server_request_duration_seconds"
