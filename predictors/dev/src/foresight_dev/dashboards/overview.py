"""Foresight overview: each service's health now, the predicted risks soonest first, and
incidents."""
from grafana_foundation_sdk.builders import (common as common_builders, dashboard as db, stat, statetimeline, table,
                                             timeseries)
from grafana_foundation_sdk.models.common import BigValueColorMode, BigValueGraphMode, BigValueTextMode
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from .common import (INCIDENT_TAGS, PROMETHEUS, beyond_horizon_mapping, foresight_dashboard, label_variable, prop,
                     query, severity_mappings, severity_thresholds, tag_annotation, thresholds)
from .predictor_detail import UID as DETAIL_UID

UID = "foresight-overview"
SERVICES = 'service=~"$service"'
# A target is every label of its series (filesystems add mountpoint, HTTP series a route):
# aggregations keep them all and merge only the copies of several sidecar replicas.
SIDECAR = "job, instance"
DETAIL_LINK = (f"/d/{DETAIL_UID}?var-service=${{__data.fields.service}}"
               "&var-predictor=${__data.fields.predictor}&var-instance=${__data.fields.service_instance}"
               "&${__url_time_range}")


def service_health() -> stat.Panel:
    return (stat.Panel().title("Service health").span(16).height(5).datasource(PROMETHEUS)
            .description("The worst severity the policy gives any prediction target of each service now.")
            .with_target(query("A", f"max by (service) (foresight_risk_level{{{SERVICES}}})", "{{service}}",
                               instant=True))
            .mappings(severity_mappings()).thresholds(severity_thresholds())
            .color_mode(BigValueColorMode.BACKGROUND).graph_mode(BigValueGraphMode.NONE)
            .text_mode(BigValueTextMode.VALUE_AND_NAME))


def targets_at_risk() -> stat.Panel:
    # `>= bool` keeps one sample per target (0 or 1), so the sum is 0 rather than empty.
    return (stat.Panel().title("Targets at warning or worse").span(8).height(5).datasource(PROMETHEUS)
            .description("Prediction targets whose severity is warning or critical, of all targets watched.")
            .with_target(query("A", f"sum(foresight_risk_level{{{SERVICES}}} >= bool 2)", "at risk", instant=True))
            .with_target(query("B", f"count(foresight_risk_level{{{SERVICES}}})", "watched", instant=True))
            .thresholds(thresholds((None, "green"), (1, "orange")))
            .override_by_name("watched", [prop("color", {"mode": "fixed", "fixedColor": "text"})])
            .color_mode(BigValueColorMode.VALUE).graph_mode(BigValueGraphMode.NONE)
            .text_mode(BigValueTextMode.VALUE_AND_NAME))


def risk_table() -> table.Panel:
    """One row per target: time to failure (sorted, soonest first), its range, probability, severity."""
    # (ref, expr, column, the label a column's value has beyond the target's: dropped, so
    # the merge joins one row per target)
    columns = [
        ("A", 'foresight_time_to_failure_seconds{quantile="0.5",%s}' % SERVICES, "Time to failure", "quantile"),
        ("B", 'foresight_time_to_failure_seconds{quantile="0.1",%s}' % SERVICES, "Earliest (10%)", "quantile"),
        ("C", 'foresight_time_to_failure_seconds{quantile="0.9",%s}' % SERVICES, "Latest (90%)", "quantile"),
        ("D", 'foresight_failure_probability{horizon="24h",%s}' % SERVICES, "P(failure) 24h", "horizon"),
        ("E", "foresight_risk_level{%s}" % SERVICES, "Severity", ""),
    ]
    panel = (table.Panel().title("Predicted risks, soonest first").span(24).height(10).datasource(PROMETHEUS)
             .description("Every prediction target, ranked by median time to failure (event time). "
                          "Empty cells mean no crossing is expected within the horizon. "
                          "Click a row for the predictor detail."))
    for ref, expr, _, extra in columns:
        dropped = f"{SIDECAR}, {extra}" if extra else SIDECAR
        panel = panel.with_target(query(ref, f"max without ({dropped}) ({expr})", instant=True, table=True))
    renames = {f"Value #{ref}": name for ref, _, name, _ in columns}
    panel = (panel
             .with_transformation(DataTransformerConfig(id_val="merge", options={}))
             .with_transformation(DataTransformerConfig(id_val="organize", options={
                 "excludeByName": {"Time": True},
                 "indexByName": {"service": 0, "predictor": 1, "service_instance": 2, "Value #E": 3,
                                 "Value #A": 4, "Value #B": 5, "Value #C": 6, "Value #D": 7},
                 "renameByName": renames}))
             .sort_by([common_builders.TableSortByFieldState().display_name("Time to failure").desc(False)])
             .override_by_name("Severity", [prop("mappings", [m.to_json() for m in severity_mappings()]),
                                            prop("custom.cellOptions", {"type": "color-background"})])
             .override_by_name("P(failure) 24h", [prop("unit", "percentunit"), prop("max", 1),
                                                  prop("custom.cellOptions", {"type": "gauge", "mode": "basic"}),
                                                  prop("thresholds", thresholds(
                                                      (None, "green"), (0.2, "orange"), (0.8, "red")).build())]))
    for name in ("Time to failure", "Earliest (10%)", "Latest (90%)"):
        panel = panel.override_by_name(name, [prop("unit", "s"),
                                              prop("mappings", [beyond_horizon_mapping().to_json()])])
    detail = [prop("links", [{"title": "Predictor detail", "url": DETAIL_LINK}])]
    return panel.override_by_name("service", detail).override_by_name("predictor", detail)


def incidents_table() -> table.Panel:
    # Each member target of an incident with its current severity: the join matches every
    # label of the target, ignoring the two the incident adds.
    expr = ("max without (%s) (foresight_incident_info{%s} "
            "* ignoring (incident, root_cause) group_left () foresight_risk_level)" % (SIDECAR, SERVICES))
    return (table.Panel().title("Open incidents").span(12).height(8).datasource(PROMETHEUS)
            .description("Targets at risk grouped into incidents: targets on services that call each other and "
                         "whose risk started together share one incident; root_cause is the service it started on.")
            .with_target(query("A", expr, instant=True, table=True))
            .with_transformation(DataTransformerConfig(id_val="organize", options={
                "excludeByName": {"Time": True},
                "indexByName": {"incident": 0, "root_cause": 1, "service": 2, "predictor": 3, "Value": 4},
                "renameByName": {"root_cause": "root cause", "Value": "Severity"}}))
            .override_by_name("Severity", [prop("mappings", [m.to_json() for m in severity_mappings()]),
                                           prop("custom.cellOptions", {"type": "color-background"})]))


def risk_timeline() -> statetimeline.Panel:
    return (statetimeline.Panel().title("Severity over time").span(12).height(8).datasource(PROMETHEUS)
            .description("Each service's worst severity over the time range; incident annotations are marked.")
            .with_target(query("A", f"max by (service) (foresight_risk_level{{{SERVICES}}})", "{{service}}"))
            .mappings(severity_mappings()).thresholds(severity_thresholds()))


def time_to_failure_trend() -> timeseries.Panel:
    return (timeseries.Panel().title("Median time to failure").span(24).height(8).datasource(PROMETHEUS)
            .description("Targets with a predicted crossing within their horizon (finite time to failure).")
            # Grafana's automatic legend names each series by the labels that tell them apart.
            .with_target(query("A", 'foresight_time_to_failure_seconds{quantile="0.5",%s} < +Inf' % SERVICES))
            .unit("s").min(0).fill_opacity(0).line_width(1).span_nulls(False))


def build() -> db.Dashboard:
    return (foresight_dashboard(UID, "Foresight overview",
                                "Each service's health now, the predicted risks soonest first, and incidents.")
            .with_variable(label_variable("service", "Service", "foresight_risk_level", multi=True))
            .annotation(tag_annotation("Incidents", INCIDENT_TAGS, "red"))
            .with_row(db.Row("Services now"))
            .with_panel(service_health())
            .with_panel(targets_at_risk())
            .with_row(db.Row("Predicted risks"))
            .with_panel(risk_table())
            .with_panel(time_to_failure_trend())
            .with_row(db.Row("Incidents"))
            .with_panel(incidents_table())
            .with_panel(risk_timeline()))
