"""docker-compose.yml: pinned images, real bind mounts, documented variables,
healthchecks everywhere and health-gated startup.

No Docker engine runs here, so this checks the file against the Compose specification
rather than starting it.
"""

from __future__ import annotations

import re

import pytest
from stack_helpers import REPO, env_example, load_yaml

COMPOSE = load_yaml("docker-compose.yml")
SERVICES = COMPOSE["services"]
COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text(encoding="utf-8")

# An exact release: 1.2.3, v1.2.3, 1.2.3-slim-bookworm, 1.2.3-musl (no `latest`, no `3`,
# no `3.5`), optionally with a digest.
EXACT_TAG = re.compile(r"^v?\d+\.\d+\.\d+(?:[-.][A-Za-z0-9.-]+)?$")
# PostgreSQL releases are major.minor (15.13): that is its exact release.
EXACT_TAG_OF = {"postgres": re.compile(r"^\d+\.\d+(?:-[a-z0-9.]+)?$")}


def check_image_ref(ref: str) -> str | None:
    """None when `ref` is pinned exactly, else the reason it is not."""
    name, _, digest = ref.partition("@")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return f"bad digest in {ref!r}"
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"{ref!r} has no tag (it would float to latest)"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return f"{ref!r} uses latest"
    if not EXACT_TAG_OF.get(last.rsplit(":", 1)[0], EXACT_TAG).match(tag):
        return f"{ref!r}: tag {tag!r} is not an exact x.y.z release"
    return None


@pytest.mark.parametrize(
    "ref,ok",
    [
        ("prom/prometheus:v2.53.4", True),
        ("python:3.11.13-slim-bookworm", True),
        ("grafana/loki:3.5", False),
        ("grafana/loki:latest", False),
        ("grafana/loki", False),
        ("localhost:5000/loki", False),
        ("busybox:1.36.1-musl", True),
        ("postgres:15.13", True),
        ("postgres:15", False),
        ("grafana/grafana:11.6", False),
    ],
)
def test_image_pin_checker(ref, ok):
    assert (check_image_ref(ref) is None) is ok


def test_project_name():
    assert COMPOSE.get("name") == "foresight"


def test_expected_services():
    assert set(SERVICES) >= {
        "kafka", "otel-collector", "prometheus", "alertmanager", "loki", "grafana",
        "predictors", "loadgen",
    }


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_image_pinned_or_built(service):
    svc = SERVICES[service]
    assert "image" in svc or "build" in svc, f"{service}: neither image nor build"
    if "image" in svc:
        problem = check_image_ref(svc["image"])
        assert problem is None, f"{service}: {problem}"
    if "build" in svc:
        build = svc["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        assert (REPO / context).is_dir(), f"{service}: build context {context} missing"


@pytest.mark.parametrize("dockerfile", ["predictors/Dockerfile", "predictors/Dockerfile.trainer",
                                        "otel-collector/Dockerfile"])
def test_dockerfile_base_images_pinned(dockerfile):
    text = (REPO / dockerfile).read_text(encoding="utf-8")
    stages: set[str] = set()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    assert froms, f"{dockerfile}: no FROM"
    for ref, stage in froms:
        if ref not in stages:
            problem = check_image_ref(ref)
            assert problem is None, f"{dockerfile}: {problem}"
        if stage:
            stages.add(stage)


def test_predictors_dockerfile_shape():
    text = (REPO / "predictors/Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11\.\d+-slim", text, re.M)
    assert re.search(r"pip install .*\.", text)
    assert re.search(r"^EXPOSE 9464$", text, re.M)
    assert re.search(r'^ENTRYPOINT \["foresight"\]$', text, re.M)


def _bind_sources():
    for name, svc in SERVICES.items():
        for vol in svc.get("volumes", []):
            if isinstance(vol, dict):
                if vol.get("type") == "bind":
                    yield name, vol["source"]
            else:
                src = vol.split(":", 1)[0]
                if src.startswith((".", "/")):
                    yield name, src


@pytest.mark.parametrize("service,source", sorted(set(_bind_sources())))
def test_bind_mount_sources_exist(service, source):
    assert (REPO / source).exists(), f"{service}: bind-mounted host path {source} does not exist"


def test_expected_bind_mounts():
    mounts = {(s, src) for s, src in _bind_sources()}
    for expected in [
        ("otel-collector", "./otel-collector/config.yaml"),
        ("prometheus", "./prometheus/prometheus.yml"),
        ("prometheus", "./prometheus/rules"),
        ("alertmanager", "./alertmanager"),
        ("loki", "./loki/config.yaml"),
        ("grafana", "./provisioning/grafana"),
        ("grafana", "./grafana/dashboards"),
        ("predictors", "./predictors/config"),
    ]:
        assert expected in mounts, f"missing bind mount {expected}"


def _compose_variables() -> set[str]:
    # ${VAR}, ${VAR:-x}, ${VAR:?x}; `$${VAR}` is an escaped literal for the container shell.
    names = set(re.findall(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_TEXT))
    names |= set(re.findall(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_TEXT))
    for secret in (COMPOSE.get("secrets") or {}).values():
        if "environment" in secret:
            names.add(secret["environment"])
    return names


def test_every_variable_documented_in_env_example():
    documented = env_example()
    missing = sorted(_compose_variables() - set(documented))
    assert not missing, f"used in docker-compose.yml but not in .env.example: {missing}"


def test_env_example_has_comment_per_variable_and_required_names():
    lines = (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", line):
            assert i > 0 and lines[i - 1].startswith("#"), f".env.example: no comment above {line!r}"
    required = {
        "FORESIGHT_KAFKA_BOOTSTRAP", "FORESIGHT_PROMETHEUS_URL", "FORESIGHT_LISTEN",
        "FORESIGHT_CONSUMER_GROUP", "FORESIGHT_LOG_LEVEL", "SLACK_WEBHOOK_URL", "SLACK_CHANNEL",
        "PAGERDUTY_ROUTING_KEY", "SMTP_SMARTHOST", "SMTP_FROM", "SMTP_TO", "SMTP_AUTH_USERNAME",
        "SMTP_AUTH_PASSWORD", "GRAFANA_ADMIN_USER", "GRAFANA_ADMIN_PASSWORD", "LOADGEN_SPEED",
        "LOADGEN_SCENARIO",
    }
    missing = sorted(required - set(env_example()))
    assert not missing, f".env.example lacks {missing}"
    env = env_example()
    assert env["FORESIGHT_LISTEN"] == "0.0.0.0:9464"
    assert env["FORESIGHT_CONSUMER_GROUP"] == "foresight-predictors"
    assert env["FORESIGHT_LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_has_healthcheck(service):
    hc = SERVICES[service].get("healthcheck")
    assert hc, f"{service}: no healthcheck"
    assert not hc.get("disable"), f"{service}: healthcheck disabled"
    assert hc.get("test") and hc["test"] != ["NONE"], f"{service}: empty healthcheck test"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_depends_on_waits_for_healthy(service):
    deps = SERVICES[service].get("depends_on", {})
    assert isinstance(deps, dict), f"{service}: depends_on must be a mapping with conditions"
    for dep, spec in deps.items():
        assert dep in SERVICES, f"{service} depends on unknown service {dep}"
        assert spec.get("condition") == "service_healthy", f"{service} -> {dep}: not service_healthy"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_comment_above_each_service(service):
    lines = COMPOSE_TEXT.splitlines()
    idx = lines.index(f"  {service}:")
    assert lines[idx - 1].strip().startswith("#"), f"no comment above service {service}"


def test_grafana_admin_password_required_from_env():
    env = SERVICES["grafana"]["environment"]
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}", env["GF_SECURITY_ADMIN_PASSWORD"])
    # The example gives no password to copy: compose refuses to start until one is set.
    assert env_example()["GRAFANA_ADMIN_PASSWORD"] == ""


def test_prometheus_accepts_remote_write():
    assert "--web.enable-remote-write-receiver" in SERVICES["prometheus"]["command"]


def test_published_ports():
    published = set()
    for svc in SERVICES.values():
        for port in svc.get("ports", []):
            published.add(str(port).split(":")[-1].split("/")[0])
    assert published >= {"3000", "9090", "9093", "9464"}


def test_predictors_and_loadgen_wiring():
    pred = SERVICES["predictors"]
    assert pred["command"] == ["run", "-c", "/etc/foresight/predictors.yaml"]
    assert "./predictors/config:/etc/foresight:ro" in pred["volumes"]
    env = pred["environment"]
    assert env["FORESIGHT_KAFKA_BOOTSTRAP"].endswith("kafka:9092}")
    assert env["FORESIGHT_PROMETHEUS_URL"].endswith("http://prometheus:9090}")
    assert "/readyz" in " ".join(pred["healthcheck"]["test"])
    cmd = " ".join(SERVICES["loadgen"]["command"])
    assert "--speed ${LOADGEN_SPEED:-60}" in cmd
    assert "--endpoint http://otel-collector:4318" in cmd


def test_trainer_retrains_from_prometheus_into_mlflow():
    trainer = SERVICES["trainer"]
    assert trainer["build"] == {"context": "./predictors", "dockerfile": "Dockerfile.trainer"}
    text = (REPO / "predictors/Dockerfile.trainer").read_text(encoding="utf-8")
    assert 'pip install ".[train]"' in text and re.search(r'^ENTRYPOINT \["foresight"\]$', text, re.M)
    cmd = trainer["command"]
    assert cmd[:3] == ["trainer", "-c", "/etc/foresight/predictors.yaml"]
    flags = dict(zip(cmd[3::2], cmd[4::2]))
    assert flags["--prometheus"] == "http://prometheus:9090" and flags["--registry"] == "http://mlflow:5000"
    assert flags["--at"] == "02:00" and "--history" in flags
    assert "./predictors/config:/etc/foresight:ro" in trainer["volumes"]
    assert set(trainer["depends_on"]) == {"prometheus", "mlflow"}
    # The command is one the CLI takes.
    from foresight.runtime.cli import build_parser

    args = build_parser().parse_args(cmd)
    assert args.at == (2, 0) and args.history == 7 * 86400 and args.cooldown == 6 * 3600


def test_secrets_come_from_environment():
    secrets = COMPOSE["secrets"]
    assert secrets["slack_webhook_url"] == {"environment": "SLACK_WEBHOOK_URL"}
    assert secrets["pagerduty_routing_key"] == {"environment": "PAGERDUTY_ROUTING_KEY"}
    assert secrets["smtp_auth_password"] == {"environment": "SMTP_AUTH_PASSWORD"}
    assert set(SERVICES["alertmanager"]["secrets"]) == set(secrets)
