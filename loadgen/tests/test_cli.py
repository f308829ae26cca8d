import csv
import subprocess
import sys

import pytest

from loadgen.cli import main
from loadgen.registry import SCENARIOS, get_scenario

START = 1767225600


def test_list_prints_every_scenario_with_its_description(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)
    assert all(len(line.split(maxsplit=1)[1]) > 20 for line in lines)


def test_list_json_carries_watched_series_and_limit(capsys):
    import json

    assert main(["list", "--json"]) == 0
    rows = {row["name"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["memory-leak"]["metric"] == "process_memory_usage_bytes"
    assert rows["memory-leak"]["limit_metric"] == "k8s_container_memory_limit_bytes"
    assert rows["memory-leak"]["limit"] == 2147483648
    assert rows["db-pool-saturation"]["selector"] == 'db_client_connection_count{db_client_connection_state="used"}'
    assert rows["disk-fill"]["limit_metric"] is None and rows["disk-fill"]["limit"] == 1.0


@pytest.mark.parametrize("command", ["run", "csv"])
def test_unknown_scenario_exits_2_naming_the_valid_ones(command, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main([command, "no-such-thing", "--output", str(tmp_path / "x.csv")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "'no-such-thing'" in err
    assert all(name in err for name in SCENARIOS)


@pytest.mark.parametrize(
    "args, named",
    [
        (["run", "memory-leak", "--duration", "8x"], "'8x'"),
        (["run", "memory-leak", "--step", "0s"], "'0s'"),
        (["run", "memory-leak", "--speed", "-1"], "'-1'"),
        (["run", "memory-leak", "--protocol", "thrift"], "'thrift'"),
        (["run", "memory-leak", "--endpoint", "ftp://x:1"], "'ftp://x:1'"),
        (["csv", "disk-fill", "--output", "x.csv", "--start", "soon"], "'soon'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_the_value(args, named, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err


def test_csv_writes_watched_series_and_limit(tmp_path, capsys):
    output, failures = tmp_path / "series.csv", tmp_path / "failures.csv"
    assert main(["csv", "memory-leak", "--output", str(output), "--failures", str(failures),
                 "--duration", "1d", "--step", "60s"]) == 0
    rows = list(csv.reader(output.open()))
    assert rows[0] == ["timestamp", "process_memory_usage_bytes", "k8s_container_memory_limit_bytes"]
    body = rows[1:]
    assert len(body) == 1440
    assert [int(r[0]) for r in body[:3]] == [START, START + 60, START + 120]
    assert all(int(r[2]) == 2147483648 for r in body)
    assert all(int(r[1]) < 2147483648 for r in body)
    failure_rows = list(csv.reader(failures.open()))
    assert failure_rows[0] == ["timestamp", "service", "resource"]
    expected = get_scenario("memory-leak").failure_times(START, START + 86400, 1)
    assert [int(r[0]) for r in failure_rows[1:]] == expected
    assert all(r[1:] == ["checkout", "memory"] for r in failure_rows[1:])


def test_csv_error_spike_has_one_column_per_status_series(tmp_path):
    output = tmp_path / "errors.csv"
    assert main(["csv", "error-spike", "--output", str(output), "--duration", "6h"]) == 0
    header = next(csv.reader(output.open()))
    route = 'http_request_method="POST",http_response_status_code="{0}",http_route="/api/checkout",url_scheme="http"'
    assert header == [
        "timestamp",
        "http_server_request_duration_seconds_count{" + route.format(200) + "}",
        'http_server_request_duration_seconds_count{error_type="500",' + route.format(500) + "}",
    ]


def test_csv_pool_column_is_the_used_state_beside_the_pool_size(tmp_path):
    output = tmp_path / "pool.csv"
    assert main(["csv", "db-pool-saturation", "--output", str(output), "--duration", "1h"]) == 0
    header = next(csv.reader(output.open()))
    assert header == [
        "timestamp",
        'db_client_connection_count{db_client_connection_pool_name="db:5432/orders",db_client_connection_state="used"}',
        'db_client_connection_max{db_client_connection_pool_name="db:5432/orders"}',
    ]


def test_help_of_every_command_runs_through_the_console_entry():
    for args in ([], ["run"], ["csv"], ["list"]):
        done = subprocess.run([sys.executable, "-m", "loadgen.cli", *args, "--help"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "usage: loadgen" in done.stdout


def test_endpoint_defaults_follow_protocol_and_environment(monkeypatch):
    from loadgen.exporters import Protocol, resolve_endpoint

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert resolve_endpoint(Protocol.HTTP, None) == "http://127.0.0.1:4318"
    assert resolve_endpoint(Protocol.GRPC, None) == "http://127.0.0.1:4317"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert resolve_endpoint(Protocol.HTTP, None) == "http://collector:4318"
    assert resolve_endpoint(Protocol.HTTP, "http://other:1234") == "http://other:1234"
