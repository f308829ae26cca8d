"""The dashboards generated from code: deterministic, committed up to date, well formed.
(tests/test_dashboard_queries.py runs every query against a real Prometheus.)"""
import json
import re
from pathlib import Path

import pytest

from foresight.feedback.annotations import VERDICT_TAGS, episode_tags
from foresight.feedback.episodes import Episode
from foresight_dev import dashboards
from foresight_dev.dashboards.common import SEVERITY_COLOURS, TAG_CONFIRMED, TAG_DISMISSED
from foresight_dev.dashboards.queries import panel_queries, substitute, used_variables, variable_queries
from foresight_dev.dashboards.render import panels_in_order

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "grafana" / "dashboards"
RENDERED = {name: json.loads(text) for name, text in dashboards.rendered().items()}
GRAFANA_BUILTINS = {"__interval", "__rate_interval", "__range", "__data", "__url_time_range"}
def documented_metrics() -> set[str]:
    text = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    return set(re.findall(r"`(foresight_\w+)", text))


def data_panels(dashboard):
    return [p for p in panels_in_order(dashboard["panels"]) if p["type"] not in ("row", "text")]


def test_generation_is_deterministic(tmp_path):
    first = [p.read_bytes() for p in dashboards.generate(tmp_path / "a")]
    second = [p.read_bytes() for p in dashboards.generate(tmp_path / "b")]
    assert first == second
    assert dashboards.rendered() == dashboards.rendered()


def test_committed_dashboards_are_not_stale():
    assert dashboards.check(COMMITTED) == [], "run `foresight dashboards` and commit grafana/dashboards/"


def test_check_names_changed_missing_and_unknown_files(tmp_path):
    paths = dashboards.generate(tmp_path)
    assert dashboards.check(tmp_path) == []
    paths[0].write_text(paths[0].read_text().replace("Foresight", "Foresite"))
    paths[1].unlink()
    (tmp_path / "hand-written.json").write_text("{}")
    stale = dashboards.check(tmp_path)
    assert len(stale) == 3, stale
    assert any(str(paths[0]) in s and "differs" in s for s in stale)
    assert any(str(paths[1]) in s and "missing" in s for s in stale)
    assert any("hand-written.json" in s and "not generated" in s for s in stale)


def test_the_three_dashboards_and_unique_uids():
    uids = [d["uid"] for d in RENDERED.values()]
    assert sorted(uids) == ["foresight-overview", "foresight-pipeline-health", "foresight-predictor-detail"]
    assert len(set(uids)) == len(uids)
    for dashboard in RENDERED.values():
        assert "foresight" in dashboard["tags"]
        assert dashboard["title"] and dashboard["description"]


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_every_panel_has_queries_on_the_datasource_variable(name):
    dashboard = RENDERED[name]
    ids = [p["id"] for p in panels_in_order(dashboard["panels"])]
    assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["current"]["value"] == "prometheus"
    for panel in data_panels(dashboard):
        where = f"{name} panel {panel['title']!r}"
        assert panel["targets"], f"{where}: no queries"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert all(ref_ids) and len(ref_ids) == len(set(ref_ids)), f"{where}: refIds {ref_ids}"
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{where}: empty expr"
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel.get("description"), f"{where}: no description"


@pytest.mark.parametrize("name", sorted(RENDERED))
def test_queries_read_documented_foresight_metrics_and_defined_variables(name):
    dashboard = RENDERED[name]
    known = documented_metrics()
    defined = {v["name"] for v in dashboard["templating"]["list"]} | GRAFANA_BUILTINS
    texts = [q.expr for q in panel_queries(dashboard)] + [v.selector for v in variable_queries(dashboard)]
    for text in texts:
        for metric in re.findall(r"\bforesight_\w+", text):
            base = re.sub(r"_(bucket|count|sum)$", "", metric)
            assert metric in known or base in known, f"{name}: unknown metric {metric} in {text!r}"
        assert used_variables(text) <= defined, f"{name}: undefined variable in {text!r}"
        # Besides foresight_* only the scrape health of the sidecar job (as in the alert rules).
        selectors = set(re.findall(r"\b([a-zA-Z_:][\w:]*)\{", text))
        assert all(s.startswith("foresight_") or s == "up" for s in selectors), text


def test_overview_ranks_risks_by_time_to_failure_with_severity():
    dashboard = RENDERED["foresight-overview.json"]
    table = next(p for p in data_panels(dashboard) if p["title"].startswith("Predicted risks"))
    exprs = {t["refId"]: t["expr"] for t in table["targets"]}
    assert 'quantile="0.5"' in exprs["A"] and "foresight_time_to_failure_seconds" in exprs["A"]
    assert any("foresight_risk_level" in e for e in exprs.values())
    assert table["options"]["sortBy"] == [{"displayName": "Time to failure", "desc": False}]
    severity = next(o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Severity")
    mapping = next(p["value"] for p in severity["properties"] if p["id"] == "mappings")[0]["options"]
    assert {k: (v["text"], v["color"]) for k, v in mapping.items()} == \
        {str(level): named for level, named in SEVERITY_COLOURS.items()}
    titles = {p["title"] for p in data_panels(dashboard)}
    assert {"Service health", "Open incidents"} <= titles


def test_predictor_detail_documents_feedback_tags_and_shows_the_timeline():
    dashboard = RENDERED["foresight-predictor-detail.json"]
    help_text = next(p for p in panels_in_order(dashboard["panels"]) if p["type"] == "text")["options"]["content"]
    for tag in [TAG_CONFIRMED, TAG_DISMISSED, "foresight", "prediction", "predictor:<name>", "service:<service>",
                "severity:<info|warning|critical>", "incident"]:
        assert f"`{tag}`" in help_text, tag
    annotations = {a["name"]: a for a in dashboard["annotations"]["list"]}
    tags = {name: a.get("target", {}).get("tags") for name, a in annotations.items()}
    # The timeline selects what the feedback loop writes: every tag it asks for is on the annotation.
    episode = Episode(id="0123456789ab", predictor="$predictor", labels={"service": "$service"}, start=0.0,
                      start_level=2, level=2, peak_level=2, peak_probability=0.5)
    assert set(tags["Predictions"]) <= set(episode_tags(episode))
    assert {"predictor:$predictor", "service:$service"} <= set(tags["Predictions"])
    assert {TAG_CONFIRMED, TAG_DISMISSED} == set(VERDICT_TAGS)
    assert tags["Confirmed"] == [TAG_CONFIRMED, "predictor:$predictor"]
    assert tags["Dismissed"] == [TAG_DISMISSED, "predictor:$predictor"]
    assert tags["Incidents"] == ["foresight", "incident"]
    for name in ("Predictions", "Confirmed", "Dismissed", "Incidents"):
        assert annotations[name]["datasource"]["type"] == "grafana"
        assert annotations[name]["target"]["type"] == "tags" and annotations[name]["target"]["matchAny"] is False
    exprs = " ".join(q.expr for q in panel_queries(dashboard))
    for metric in ["foresight_observed_value", "foresight_forecast_value", "foresight_limit_value",
                   "foresight_time_to_failure_seconds", "foresight_attribution_ratio"]:
        assert metric in exprs, metric


def test_pipeline_health_covers_ingest_lag_bad_input_and_inference():
    exprs = " ".join(q.expr for q in panel_queries(RENDERED["foresight-pipeline-health.json"]))
    for needle in ["rate(foresight_points_ingested_total", "foresight_consumer_lag_messages",
                   "rate(foresight_bad_input_total", "foresight_inference_duration_seconds_bucket"]:
        assert needle in exprs, needle


def test_query_helpers():
    assert substitute('x{a="$a",b="${b}"}[$__range]', {"a": "1", "b": "2", "__range": "5m"}) == 'x{a="1",b="2"}[5m]'
    with pytest.raises(KeyError, match=r"\$missing"):
        substitute("x{a=\"$missing\"}", {})
    variables = variable_queries(RENDERED["foresight-predictor-detail.json"])
    assert [(v.name, v.label) for v in variables][:2] == [("service", "service"), ("predictor", "predictor")]
    assert variables[1].selector == 'foresight_risk_level{service="$service"}'
    with pytest.raises(ValueError, match="only label_values"):
        variable_queries({"title": "t", "templating": {"list": [{"type": "query", "name": "v", "query": "up"}]}})
