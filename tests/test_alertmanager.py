"""Alertmanager config, routes, inhibit rule and notification templates, checked with
amtool 0.25 (Debian package `prometheus-alertmanager`; the compose image is
prom/alertmanager:v0.27.0, which accepts every key 0.25 does).

The repo file cannot be loaded as is: compose mounts the secrets at /run/secrets/* and
its entrypoint replaces the __NAME__ placeholders with environment values. The test
builds the same rendered copy: secret paths point at temporary files, placeholders are
replaced the way docker-compose.yml's sed command does, with .env.example's values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stack_helpers import REPO, assert_ok, env_example, load_yaml, require_tool, run

AM_FILE = REPO / "alertmanager/alertmanager.yml"
AM_TEXT = AM_FILE.read_text(encoding="utf-8")
SECRET_NAMES = ["slack_webhook_url", "pagerduty_routing_key", "smtp_auth_password"]


@pytest.fixture(scope="module")
def amtool() -> str:
    return require_tool("amtool", "prometheus-alertmanager")


def compose_substitutions() -> dict[str, str]:
    """placeholder -> environment variable, read from the compose entrypoint's sed."""
    compose = load_yaml("docker-compose.yml")
    cmd = " ".join(compose["services"]["alertmanager"]["command"])
    pairs = re.findall(r"s\|(__[A-Z0-9_]+__)\|\$\$\{([A-Z0-9_]+)\}\|g", cmd)
    assert pairs, "alertmanager entrypoint has no sed substitutions"
    return dict(pairs)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("am")
    for name in SECRET_NAMES:
        (tmp / name).write_text(f"test-{name}\n", encoding="utf-8")
    text = AM_TEXT.replace("/run/secrets/", f"{tmp}/")
    text = text.replace("/etc/alertmanager/templates/", f"{REPO}/alertmanager/templates/")
    env = env_example()
    for placeholder, var in compose_substitutions().items():
        text = text.replace(placeholder, env[var])
    path = tmp / "alertmanager.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_placeholder_is_substituted_by_compose():
    config_lines = [l for l in AM_TEXT.splitlines() if not l.lstrip().startswith("#")]
    placeholders = set(re.findall(r"__[A-Z0-9_]+__", "\n".join(config_lines)))
    assert placeholders, "expected __NAME__ placeholders for the non-secret receiver settings"
    subs = compose_substitutions()
    assert placeholders <= set(subs), f"not substituted by compose: {placeholders - set(subs)}"
    compose = load_yaml("docker-compose.yml")
    am_env = compose["services"]["alertmanager"]["environment"]
    for var in subs.values():
        assert var in am_env, f"alertmanager service does not pass {var}"
        assert var in env_example(), f"{var} not documented in .env.example"


def test_no_inline_secrets():
    """Secrets only through *_file keys (compose secrets), never inline."""
    for key in ("api_url", "routing_key", "service_key", "auth_password", "smtp_auth_password"):
        assert not re.search(rf"^\s*-?\s*{key}:", AM_TEXT, re.M), f"inline {key} in alertmanager.yml"
    for name in SECRET_NAMES:
        assert f"/run/secrets/{name}" in AM_TEXT
    assert "hooks.slack.com" not in AM_TEXT


def test_check_config(amtool, rendered):
    leftover = [l for l in rendered.read_text().splitlines() if "__" in l and not l.lstrip().startswith("#")]
    assert not leftover, f"placeholders left after substitution: {leftover}"
    proc = run([amtool, "check-config", str(rendered)])
    assert_ok(proc)
    assert "SUCCESS" in proc.stdout
    assert "1 templates" in proc.stdout


@pytest.mark.parametrize(
    "labels,receivers",
    [
        (["severity=critical", "alertname=ForesightExhaustionPredicted"], "pagerduty,slack-critical"),
        (["severity=warning", "alertname=ForesightExhaustionPredicted"], "slack"),
        (["severity=info", "alertname=ForesightBadInputHigh"], "email"),
        (["alertname=Unlabelled"], "slack"),
    ],
)
def test_routes(amtool, rendered, labels, receivers):
    proc = run([amtool, "config", "routes", "test", f"--config.file={rendered}", *labels])
    assert_ok(proc)
    assert proc.stdout.strip() == receivers


def test_route_tree_settings():
    cfg = load_yaml("alertmanager/alertmanager.yml")
    route = cfg["route"]
    assert route["receiver"] == "slack"
    assert route["group_by"] == ["alertname", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    first = route["routes"][0]
    assert first["receiver"] == "pagerduty" and first["continue"] is True
    info = [r for r in route["routes"] if r["receiver"] == "email"][0]
    assert info["repeat_interval"] == "24h"
    assert cfg["global"]["resolve_timeout"]
    assert cfg["templates"] == ["/etc/alertmanager/templates/*.tmpl"]


def test_inhibit_critical_mutes_warning():
    cfg = load_yaml("alertmanager/alertmanager.yml")
    rules = cfg["inhibit_rules"]
    assert any(
        r.get("source_matchers") == ['severity="critical"']
        and r.get("target_matchers") == ['severity="warning"']
        and sorted(r.get("equal", [])) == ["alertname", "predictor", "service"]
        for r in rules
    ), rules


ALERT_DATA = {
    "receiver": "slack",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ForesightExhaustionPredicted", "severity": "critical",
                "service": "checkout", "predictor": "checkout-memory",
            },
            "annotations": {
                "summary": "checkout: memory will reach its limit of 2Gi in ~3h 12m (80% range 2h 36m – 4h 0m)",
                "description": "Probability of reaching the limit: 87% within 6h, 100% within 24h (predictor checkout-memory).",
                "runbook_url": "https://github.com/foresight-sre/foresight/blob/main/docs/runbooks.md#foresightexhaustionpredicted",
            },
            "startsAt": "2025-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "0123456789abcdef",
        }
    ],
    "groupLabels": {"alertname": "ForesightExhaustionPredicted", "service": "checkout"},
    "commonLabels": {
        "alertname": "ForesightExhaustionPredicted", "severity": "critical",
        "service": "checkout", "predictor": "checkout-memory",
    },
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
}


@pytest.mark.parametrize(
    "template",
    [
        "foresight.slack.title", "foresight.slack.text", "foresight.pagerduty.description",
        "foresight.pagerduty.details", "foresight.email.subject", "foresight.email.html",
    ],
)
def test_templates_render(amtool, tmp_path, template):
    data = tmp_path / "data.json"
    data.write_text(json.dumps(ALERT_DATA), encoding="utf-8")
    proc = run([
        amtool, "template", "render",
        f"--template.glob={REPO}/alertmanager/templates/*.tmpl",
        f"--template.data={data}",
        f'--template.text={{{{ template "{template}" . }}}}',
    ])
    assert_ok(proc)
    out = proc.stdout
    ann = ALERT_DATA["alerts"][0]["annotations"]
    if template.endswith("title") or template.endswith("subject"):
        assert "ForesightExhaustionPredicted" in out and "checkout" in out
    elif template.endswith("pagerduty.description"):
        assert out.strip() == ann["summary"]
    else:
        for key in ("summary", "description", "runbook_url"):
            assert ann[key] in out, f"{template} lacks {key}:\n{out}"
