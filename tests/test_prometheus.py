"""Prometheus config and alert rules, checked with promtool (Debian package
`prometheus`, 2.42; the compose image is prom/prometheus:v2.53.4)."""

from __future__ import annotations

import glob
import re

import pytest
import yaml
from stack_helpers import REPO, assert_ok, load_yaml, require_tool, run

RULE_FILES = sorted(glob.glob(str(REPO / "prometheus/rules/*.yml")))
TEST_FILES = sorted(glob.glob(str(REPO / "prometheus/tests/*.yml")))


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_tool("promtool", "prometheus")


def test_files_exist():
    assert RULE_FILES, "no prometheus/rules/*.yml"
    assert TEST_FILES, "no prometheus/tests/*.yml"


def test_check_config(promtool, tmp_path):
    """`promtool check config` on a copy whose rule_files point at the repo's rules
    (the real file names the container path /etc/prometheus/rules/*.yml)."""
    cfg = load_yaml("prometheus/prometheus.yml")
    assert cfg["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    cfg["rule_files"] = [str(REPO / "prometheus/rules/*.yml")]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    proc = run([promtool, "check", "config", str(copy)])
    assert_ok(proc)
    assert "SUCCESS" in proc.stdout + proc.stderr


def test_scrape_targets_and_alerting():
    cfg = load_yaml("prometheus/prometheus.yml")
    targets = {
        job["job_name"]: [t for sc in job.get("static_configs", []) for t in sc["targets"]]
        for job in cfg["scrape_configs"]
    }
    # Every replica of the predictors service, found by Docker's DNS.
    foresight = next(job for job in cfg["scrape_configs"] if job["job_name"] == "foresight")
    assert foresight["dns_sd_configs"] == [{"names": ["predictors"], "type": "A", "port": 9464,
                                            "refresh_interval": "15s"}]
    assert "otel-collector:8888" in sum(targets.values(), [])
    assert "alertmanager:9093" in sum(targets.values(), [])
    assert any(t.endswith(":9090") for t in sum(targets.values(), []))
    am = cfg["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am == ["alertmanager:9093"]


def test_check_rules(promtool):
    proc = run([promtool, "check", "rules", *RULE_FILES])
    assert_ok(proc)


def test_rule_unit_tests(promtool):
    """`promtool test rules`: firing and non-firing cases with exact labels and
    rendered annotations (prometheus/tests/*.yml)."""
    proc = run([promtool, "test", "rules", *TEST_FILES], cwd=REPO / "prometheus/tests")
    assert_ok(proc)
    assert "SUCCESS" in proc.stdout


def _alert_rules():
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        for group in doc["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    yield group["name"], rule


def test_alert_shape_and_runbook_anchors():
    runbooks = (REPO / "docs/runbooks.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", runbooks, re.M)
    }
    rules = list(_alert_rules())
    assert rules
    for group, rule in rules:
        name = rule["alert"]
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name), name
        assert rule.get("for"), f"{name}: no for:"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        ann = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(ann), name
        if group.startswith("foresight-predictor-"):
            # What, when, how sure, why, what to do and links, for the receivers' templates.
            assert {"when", "probability", "why", "action", "dashboard_url"} <= set(ann), name
        url = ann["runbook_url"]
        assert url.startswith("https://github.com/foresight-sre/foresight/blob/main/docs/runbooks.md#")
        anchor = url.rsplit("#", 1)[1]
        assert anchor == name.lower(), f"{name}: runbook anchor {anchor}"
        assert anchor in anchors, f"docs/runbooks.md has no section for #{anchor}"


def test_expected_alerts():
    """Every configured predictor has its generated group (warning 5m, critical 5m by
    default; the anomaly kind's 10m); the pipeline alerts stay in their own file."""
    from foresight.config import load_config

    by_group: dict[str, list[tuple[str, str, str]]] = {}
    for group, rule in _alert_rules():
        by_group.setdefault(group, []).append(
            (rule["alert"], rule["labels"]["severity"], rule["for"])
        )
    config = load_config(REPO / "predictors/config/predictors.yaml")
    expected = {
        "exhaustion": [("ForesightExhaustionPredicted", "critical", "5m"), ("ForesightExhaustionPredicted", "warning", "5m")],
        "anomaly": [("ForesightAnomalyDetected", "warning", "10m")],
        "logs": [("ForesightLogAnomalyDetected", "warning", "5m")],
    }
    for predictor in config.predictors:
        assert sorted(by_group.pop(f"foresight-predictor-{predictor.name}")) == expected[predictor.kind], predictor.name
    assert sorted(by_group.pop("foresight-pipeline")) == [
        ("ForesightBadInputHigh", "info", "10m"),
        ("ForesightConsumerLagHigh", "warning", "10m"),
        ("ForesightInferenceSlow", "warning", "10m"),
        ("ForesightPredictorDown", "warning", "5m"),
    ]
    assert by_group.pop("foresight-lifecycle") == [("ForesightModelDrift", "info", "10m")]
    assert by_group == {}, f"unexpected rule groups: {sorted(by_group)}"
