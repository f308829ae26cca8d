"""Grafana provisioning and dashboard JSON.

Grafana cannot run here (no Docker engine, no Grafana package), so these tests check the
files against Grafana's documented provisioning schema (apiVersion 1 datasources and
dashboard providers) and the dashboard JSON model, not against a live Grafana.
"""

from __future__ import annotations

import json

import pytest

from stack_helpers import REPO, load_yaml

DATASOURCES = load_yaml("provisioning/grafana/datasources/datasources.yml")
PROVIDERS = load_yaml("provisioning/grafana/dashboards/dashboards.yml")
DASHBOARD_FILES = sorted((REPO / "grafana/dashboards").glob("*.json"))

# Documented keys (Grafana docs, "Provision Grafana": data sources / dashboards).
DATASOURCE_KEYS = {
    "name", "type", "uid", "access", "url", "user", "database", "basicAuth", "basicAuthUser",
    "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable", "orgId",
}
PROVIDER_KEYS = {
    "name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
    "allowUiUpdates", "options",
}
PROVIDER_OPTION_KEYS = {"path", "foldersFromFilesStructure"}
# Grafana's own pseudo datasources, valid without provisioning.
BUILTIN_UIDS = {"-- Grafana --", "-- Dashboard --", "-- Mixed --", "grafana"}


def test_datasource_file_schema():
    assert DATASOURCES["apiVersion"] == 1
    assert set(DATASOURCES) <= {"apiVersion", "datasources", "deleteDatasources", "prune"}
    for ds in DATASOURCES["datasources"]:
        unknown = set(ds) - DATASOURCE_KEYS
        assert not unknown, f"datasource {ds.get('name')}: undocumented keys {unknown}"
        assert {"name", "type", "uid", "url", "access"} <= set(ds)
        assert ds["access"] in {"proxy", "direct"}


def test_fixed_datasource_uids():
    by_uid = {ds["uid"]: ds for ds in DATASOURCES["datasources"]}
    assert by_uid["prometheus"]["type"] == "prometheus"
    assert by_uid["prometheus"]["url"] == "http://prometheus:9090"
    assert by_uid["loki"]["type"] == "loki"
    assert by_uid["loki"]["url"] == "http://loki:3100"
    assert by_uid["alertmanager"]["type"] == "alertmanager"
    assert by_uid["alertmanager"]["jsonData"]["implementation"] == "prometheus"
    assert sum(bool(ds.get("isDefault")) for ds in DATASOURCES["datasources"]) == 1


def test_dashboard_provider_schema():
    assert PROVIDERS["apiVersion"] == 1
    providers = PROVIDERS["providers"]
    assert len(providers) == 1
    p = providers[0]
    assert set(p) <= PROVIDER_KEYS, set(p) - PROVIDER_KEYS
    assert set(p["options"]) <= PROVIDER_OPTION_KEYS
    assert p["type"] == "file"
    assert p["folder"] == "Foresight"
    assert p["options"]["path"] == "/var/lib/grafana/dashboards"


def _panels(panels):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _datasource_refs(dash):
    """(where, datasource) for every panel, target and templating variable."""
    for panel in _panels(dash["panels"]):
        if panel["type"] == "row":
            continue
        yield f"panel {panel['title']!r}", panel.get("datasource")
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target.get('refId')}", target.get("datasource")
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            yield f"variable {var['name']}", var.get("datasource")


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_datasources_use_provisioned_uids(path):
    dash = json.loads(path.read_text(encoding="utf-8"))
    assert dash.get("uid"), f"{path.name}: no uid"
    assert dash.get("title")
    uids = {ds["uid"] for ds in DATASOURCES["datasources"]}
    refs = list(_datasource_refs(dash))
    assert refs
    for where, ds in refs:
        assert isinstance(ds, dict) and ds.get("uid"), f"{path.name} {where}: datasource has no fixed uid"
        assert ds["uid"] in uids | BUILTIN_UIDS, f"{path.name} {where}: unknown datasource uid {ds['uid']}"
    ids = [p["id"] for p in _panels(dash["panels"])]
    assert len(ids) == len(set(ids)), "duplicate panel ids"


def test_overview_dashboard_content():
    dash = json.loads((REPO / "grafana/dashboards/foresight-overview.json").read_text(encoding="utf-8"))
    assert dash["uid"] == "foresight-overview"
    panels = [p for p in _panels(dash["panels"]) if p["type"] != "row"]
    exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    for needle in [
        'up{job="foresight"}',
        "rate(foresight_points_ingested_total[5m])",
        "foresight_bad_input_total",
        "foresight_consumer_lag_messages",
        "foresight_inference_duration_seconds_bucket",
        'foresight_time_to_failure_seconds{quantile="0.5"}',
        "foresight_risk_level",
        "foresight_failure_probability",
        'quantile="0.1"',
        'quantile="0.9"',
        "foresight_observed_value",
        "foresight_limit_value",
        'ALERTS{alertstate="firing"}',
    ]:
        assert needle in exprs, f"dashboard has no query with {needle}"
    types = {p["type"] for p in panels}
    assert {"table", "timeseries", "state-timeline"} <= types
    table = next(p for p in panels if p["type"] == "table")
    sort = [t for t in table["transformations"] if t["id"] == "sortBy"]
    assert sort and sort[0]["options"]["sort"][0] == {"field": "Value #A", "desc": False}
