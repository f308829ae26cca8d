"""Grafana provisioning and dashboard JSON.

Grafana cannot run here (no Docker engine, no Grafana package), so these tests check the
files against Grafana's documented provisioning schema (apiVersion 1 datasources and
dashboard providers) and the dashboard JSON model, not against a live Grafana. The
dashboards are generated from code (foresight_dev.dashboards); tests/test_dashboard_queries.py
runs their queries against a real Prometheus.
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
    """(where, datasource) for every panel, target, query variable and annotation query."""
    for panel in _panels(dash["panels"]):
        if panel["type"] in ("row", "text"):
            continue
        yield f"panel {panel['title']!r}", panel.get("datasource")
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} target {target.get('refId')}", target.get("datasource")
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            yield f"variable {var['name']}", var.get("datasource")
    for annotation in dash.get("annotations", {}).get("list", []):
        yield f"annotation {annotation['name']!r}", annotation.get("datasource")


def _datasource_variables(dash) -> dict[str, dict]:
    """`${name}` -> the provisioned datasource a datasource variable selects by default."""
    by_uid = {ds["uid"]: ds for ds in DATASOURCES["datasources"]}
    found = {}
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") == "datasource":
            default = by_uid.get(var.get("current", {}).get("value"))
            assert default and default["type"] == var["query"], \
                f"variable {var['name']}: default {var.get('current')} is not a provisioned {var['query']} datasource"
            found["${%s}" % var["name"]] = default
    return found


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_datasources_use_provisioned_uids(path):
    dash = json.loads(path.read_text(encoding="utf-8"))
    assert dash.get("uid"), f"{path.name}: no uid"
    assert dash.get("title")
    uids = {ds["uid"]: ds["type"] for ds in DATASOURCES["datasources"]}
    variables = _datasource_variables(dash)
    refs = list(_datasource_refs(dash))
    assert refs
    for where, ds in refs:
        assert isinstance(ds, dict) and ds.get("uid"), f"{path.name} {where}: datasource has no fixed uid"
        if ds["uid"] in variables:
            assert variables[ds["uid"]]["type"] == ds["type"], f"{path.name} {where}: type {ds['type']}"
            continue
        assert ds["uid"] in set(uids) | BUILTIN_UIDS, f"{path.name} {where}: unknown datasource uid {ds['uid']}"
    ids = [p["id"] for p in _panels(dash["panels"])]
    assert len(ids) == len(set(ids)), "duplicate panel ids"


def test_generated_dashboards_are_provisioned():
    """Every dashboard the code generates is in the provider's folder, and nothing else is."""
    from foresight_dev import dashboards

    assert sorted(p.name for p in DASHBOARD_FILES) == sorted(dashboards.DASHBOARDS)
    assert dashboards.check(REPO / "grafana/dashboards") == []
    uids = [json.loads(p.read_text(encoding="utf-8"))["uid"] for p in DASHBOARD_FILES]
    assert len(uids) == len(set(uids))


def test_compose_home_dashboard_exists():
    compose = load_yaml("docker-compose.yml")
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(PROVIDERS["providers"][0]["options"]["path"] + "/")
    assert (REPO / "grafana/dashboards" / home.rsplit("/", 1)[1]).is_file()


def test_overview_dashboard_content():
    dash = json.loads((REPO / "grafana/dashboards/foresight-overview.json").read_text(encoding="utf-8"))
    assert dash["uid"] == "foresight-overview"
    panels = [p for p in _panels(dash["panels"]) if p["type"] != "row"]
    exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    for needle in [
        "foresight_risk_level",
        'foresight_time_to_failure_seconds{quantile="0.5"',
        'foresight_time_to_failure_seconds{quantile="0.1"',
        'foresight_time_to_failure_seconds{quantile="0.9"',
        "foresight_failure_probability",
        "foresight_incident_info",
    ]:
        assert needle in exprs, f"dashboard has no query with {needle}"
    types = {p["type"] for p in panels}
    assert {"stat", "table", "timeseries", "state-timeline"} <= types
    table = next(p for p in panels if p["title"].startswith("Predicted risks"))
    assert table["options"]["sortBy"] == [{"displayName": "Time to failure", "desc": False}]
    assert any(t["id"] == "merge" for t in table["transformations"])
