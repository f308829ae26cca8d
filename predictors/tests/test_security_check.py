"""`foresight check` warns about plaintext Kafka or Grafana on another host; `foresight run`
listens on loopback unless told otherwise; no secret shows in --help."""
import socket

import pytest
import requests
from prometheus_client import CollectorRegistry

from foresight.publish.endpoints import parse_listen, serve
from foresight.runtime.cli import build_parser, main
from foresight.runtime.cli_security import is_loopback
from foresight.runtime.service import Settings
from foresight.sources.kafka_security import SOURCES
from foresight_dev.devstack.processes import free_port

CONFIG = "predictors:\n  - name: m\n    kind: exhaustion\n    series: used\n    limit: 100\n"


@pytest.fixture
def config(tmp_path, monkeypatch):
    for _, env in SOURCES.values():
        monkeypatch.delenv(env, raising=False)
    for env in ("FORESIGHT_KAFKA_BOOTSTRAP", "FORESIGHT_FEEDBACK", "FORESIGHT_TRUSTED_NETWORK", "FORESIGHT_LISTEN",
                "FORESIGHT_KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(env, raising=False)
    path = tmp_path / "p.yaml"
    path.write_text(CONFIG)
    return str(path)


def feedback_file(tmp_path, url: str) -> str:
    path = tmp_path / "feedback.yaml"
    path.write_text(f"grafana_url: {url}\nstate_path: {tmp_path / 'state.json'}\n")
    return str(path)


def check(capsys, *args) -> tuple[int, str, list[str]]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, [line for line in err.splitlines() if line.startswith("warning:")]


def test_a_remote_plaintext_broker_is_a_warning_naming_it(config, capsys):
    code, out, warnings = check(capsys, "-c", config, "--kafka-bootstrap", "kafka.internal:9092,127.0.0.1:9093")
    assert code == 0 and "ok, 1 predictor(s)" in out
    assert len(warnings) == 2
    assert "Kafka at kafka.internal:9092 with security_protocol PLAINTEXT" in warnings[0]
    assert "127.0.0.1:9093" not in warnings[0]
    assert "--trusted-network" in warnings[1] and "FORESIGHT_TRUSTED_NETWORK=true" in warnings[1]


@pytest.mark.parametrize("bootstrap", ["localhost:9092", "127.0.0.1:9092,127.0.0.2:9093", "[::1]:9092"])
def test_a_loopback_broker_is_no_warning(config, capsys, bootstrap):
    assert check(capsys, "-c", config, "--kafka-bootstrap", bootstrap)[2] == []


def test_tls_or_an_acknowledged_network_silences_the_warning(config, capsys, monkeypatch):
    remote = ["-c", config, "--kafka-bootstrap", "10.0.0.5:9093"]
    assert check(capsys, *remote, "--kafka-security-protocol", "SSL")[2] == []
    assert check(capsys, *remote, "--trusted-network")[2] == []
    monkeypatch.setenv("FORESIGHT_TRUSTED_NETWORK", "true")
    assert check(capsys, *remote)[2] == []


def test_sasl_plain_without_tls_warns_about_the_password(config, capsys, monkeypatch):
    monkeypatch.setenv("FORESIGHT_KAFKA_SASL_PASSWORD", "hunter2")
    monkeypatch.setenv("FORESIGHT_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    code, out, warnings = check(capsys, "-c", config, "--kafka-bootstrap", "broker.example:9092",
                                "--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-username", "foresight")
    assert code == 0 and "SASL_PLAINTEXT, PLAIN as foresight" in out
    assert "the SASL password" in warnings[0] and "hunter2" not in out + "".join(warnings)


@pytest.mark.parametrize("url, warned", [("http://grafana.example:3000", True), ("https://grafana.example", False),
                                         ("http://localhost:3000", False), ("http://127.0.0.1:3000", False)])
def test_grafana_over_http_to_another_host_is_a_warning(config, capsys, tmp_path, url, warned):
    warnings = check(capsys, "-c", config, "--feedback", feedback_file(tmp_path, url))[2]
    assert bool(warnings) == warned
    if warned:
        assert f"Grafana at {url} over http" in warnings[0]


def test_bad_security_settings_fail_the_check_by_name(config, capsys):
    code = main(["check", "-c", config, "--kafka-security-protocol", "SSL", "--kafka-ssl-cafile", "/nowhere/ca.pem"])
    err = capsys.readouterr().err
    assert code == 2 and "--kafka-ssl-cafile (env FORESIGHT_KAFKA_SSL_CAFILE): '/nowhere/ca.pem'" in err


def test_run_refuses_bad_security_settings_before_starting(config, capsys):
    assert main(["run", "-c", config, "--kafka-security-protocol", "TLS1.3"]) == 2
    assert "--kafka-security-protocol" in capsys.readouterr().err


def test_help_shows_no_value_from_the_environment(monkeypatch):
    for _, env in SOURCES.values():
        monkeypatch.setenv(env, f"value-of-{env}")
    monkeypatch.setenv("FORESIGHT_KAFKA_SASL_PASSWORD", "hunter2")
    parser = build_parser({})
    run_help = parser._subparsers._group_actions[0].choices["run"].format_help()
    assert "--kafka-sasl-password-file" in run_help and "--kafka-sasl-password " not in run_help
    assert "value-of-" not in run_help and "hunter2" not in run_help


def test_loopback_names():
    assert all(map(is_loopback, ["localhost", "127.0.0.1", "127.3.2.1", "::1", "[::1]", "api.localhost"]))
    assert not any(map(is_loopback, ["kafka", "10.0.0.1", "0.0.0.0", "example.com", "::"]))


def test_the_sidecar_listens_on_loopback_by_default(monkeypatch):
    monkeypatch.delenv("FORESIGHT_LISTEN", raising=False)
    args = build_parser({}).parse_args(["run", "-c", "p.yaml"])
    assert args.listen == Settings().listen == "127.0.0.1:9464"
    assert parse_listen(args.listen)[0] == "127.0.0.1"
    # The same host on a free port: answered on loopback, refused on this host's other addresses.
    port = free_port()
    server = serve(f"{parse_listen(args.listen)[0]}:{port}", CollectorRegistry(), lambda: (True, "ok"),
                   lambda: (True, "ok"))
    try:
        assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 200
        outward = _outward_address()
        if outward is None:
            pytest.skip("this host has no address besides loopback")
        with pytest.raises(OSError):
            socket.create_connection((outward, port), timeout=2).close()
    finally:
        server.shutdown()


def test_the_listen_address_is_taken_from_the_environment(monkeypatch):
    monkeypatch.setenv("FORESIGHT_LISTEN", "0.0.0.0:9464")
    assert build_parser({}).parse_args(["run", "-c", "p.yaml"]).listen == "0.0.0.0:9464"


def _outward_address() -> str | None:
    """The address this host would use towards another (no packet is sent for UDP connect)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routed, never answered
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if is_loopback(address) else address
