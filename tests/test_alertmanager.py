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
        (["severity=critical", "alertname=ForesightExhaustionPredicted", "incident=inc-1"], "pagerduty,slack-critical"),
        (["severity=warning", "alertname=ForesightExhaustionPredicted"], "slack"),
        (["severity=warning", "alertname=ForesightAnomalyDetected", "incident=inc-1"], "slack"),
        (["severity=info", "alertname=ForesightBadInputHigh"], "email"),
        (["alertname=Unlabelled"], "slack"),
    ],
)
def test_routes(amtool, rendered, labels, receivers):
    proc = run([amtool, "config", "routes", "test", f"--config.file={rendered}", *labels])
    assert_ok(proc)
    assert proc.stdout.strip() == receivers


def _severity_routes(route):
    return {r["matchers"][0]: r for r in route["routes"]}


def test_route_tree_settings():
    """Grouped by incident when there is one, else by service; repeat intervals shorten
    with severity; info is a daily digest."""
    cfg = load_yaml("alertmanager/alertmanager.yml")
    route = cfg["route"]
    assert route["receiver"] == "slack"
    assert route["group_by"] == ["service"]
    assert (route["group_wait"], route["group_interval"]) == ("30s", "5m")
    first, second = route["routes"][:2]
    assert first["receiver"] == "pagerduty" and first["continue"] is True
    assert second["receiver"] == "slack-critical" and not second.get("continue")
    for r in route["routes"]:
        if r["receiver"] != "email":
            assert r["routes"] == [{"matchers": ['incident=~".+"'], "group_by": ["incident"]}], r
    repeat = {r["receiver"]: r["repeat_interval"] for r in route["routes"]}
    assert repeat == {"pagerduty": "1h", "slack-critical": "1h", "slack": "4h", "email": "24h"}
    info = [r for r in route["routes"] if r["receiver"] == "email"][0]
    assert (info["group_interval"], info["group_by"]) == ("24h", ["severity"])
    assert cfg["global"]["resolve_timeout"]
    assert cfg["templates"] == ["/etc/alertmanager/templates/*.tmpl"]


def test_each_receiver_has_its_own_template():
    cfg = load_yaml("alertmanager/alertmanager.yml")
    used = {}
    for receiver in cfg["receivers"]:
        text = json.dumps(receiver)
        names = set(re.findall(r'template \\"([a-z_.]+)\\"', text))
        assert names, f"{receiver['name']} uses no template"
        used[receiver["name"]] = {n.split(".")[0] for n in names}
    assert used == {"slack": {"slack"}, "slack-critical": {"slack"}, "pagerduty": {"pagerduty"}, "email": {"email"}}
    templates = {p.name for p in (REPO / "alertmanager/templates").glob("*.tmpl")}
    assert templates == {"slack.tmpl", "pagerduty.tmpl", "email.tmpl"}


def test_inhibit_critical_mutes_warning():
    cfg = load_yaml("alertmanager/alertmanager.yml")
    rules = cfg["inhibit_rules"]
    assert any(
        r.get("source_matchers") == ['severity="critical"', 'predictor=~".+"']
        and r.get("target_matchers") == ['severity=~"warning|info"']
        and r.get("equal") == ["foresight_target"]
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
                "service": "checkout", "predictor": "memory", "resource": "memory",
            },
            "annotations": {
                "summary": "checkout: memory will reach its limit of 2Gi in ~3h 12m (80% range 2h 36m – 4h 0m)",
                "when": "in ~3h 12m (80% range 2h 36m – 4h 0m), around 2025-01-01 03:12:00 +0000 UTC",
                "probability": "87% within 6h, 100% within 24h",
                "why": "heap grows 100Mi/h since the last deploy",
                "action": "Raise the memory limit from 2Gi to at least 2.5Gi.",
                "runbook_url": "https://github.com/foresight-sre/foresight/blob/main/docs/runbooks.md#foresightexhaustionpredicted",
                "dashboard_url": "http://localhost:3000/d/foresight-predictor-detail/foresight-predictor-detail?var-predictor=memory&var-service=checkout",
            },
            "startsAt": "2025-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "0123456789abcdef",
        }
    ],
    "groupLabels": {"service": "checkout"},
    "commonLabels": {
        "alertname": "ForesightExhaustionPredicted", "severity": "critical",
        "service": "checkout", "predictor": "memory", "resource": "memory",
    },
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
}


@pytest.mark.parametrize(
    "template",
    ["slack.foresight.title", "slack.foresight.text", "pagerduty.foresight.summary",
     "pagerduty.foresight.firing", "email.foresight.subject", "email.foresight.text", "email.foresight.html"],
)
def test_templates_render(amtool, tmp_path, template):
    """Each template renders with amtool; tests/test_alertmanager_delivery.py checks the
    text the real Alertmanager sends."""
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
    if template == "slack.foresight.title":
        assert out.strip() == f"[FIRING:1] CRITICAL · checkout · {ann['summary']}"
    elif template == "email.foresight.subject":
        assert out.strip() == "[Foresight digest] 1 info alert for checkout"
    elif template == "pagerduty.foresight.summary":
        assert out.strip() == ann["summary"]
    elif template == "pagerduty.foresight.firing":
        assert out.strip() == f"{ann['summary']}. What to do: {ann['action']} Runbook: {ann['runbook_url']}"
    else:
        for key in ("summary", "when", "probability", "why", "action", "runbook_url"):
            assert ann[key] in out, f"{template} lacks {key}:\n{out}"
