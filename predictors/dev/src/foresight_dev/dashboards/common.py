"""Building blocks shared by the Foresight dashboards: datasource, variables, queries,
severity colours and the annotation tags engineers use for feedback."""
from grafana_foundation_sdk.builders import dashboard as db, prometheus as prom
from grafana_foundation_sdk.models.dashboard import (DashboardCursorSync, DashboardRangeMapOptions, DataSourceRef,
                                                     DynamicConfigValue, RangeMap, Threshold, ThresholdsMode, ValueMap,
                                                     ValueMappingResult, VariableOption, VariableRefresh, VariableSort)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from foresight.contracts.severities import CRITICAL, INFO, NONE, SEVERITY_NAMES, WARNING

# Every Prometheus panel reads the datasource chosen in this variable; the provisioned
# Prometheus (uid "prometheus", provisioning/grafana/datasources) is the default.
DATASOURCE_VARIABLE = "datasource"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${%s}" % DATASOURCE_VARIABLE)
# Grafana's own annotation store: where predictions, feedback and incidents are written.
GRAFANA_ANNOTATIONS = DataSourceRef(type_val="grafana", uid="-- Grafana --")

# Severity as foresight_risk_level publishes it (the policy's names), with Grafana's colours.
SEVERITY_COLOURS = {level: (SEVERITY_NAMES[level] or "none", colour)
                    for level, colour in [(NONE, "green"), (INFO, "blue"), (WARNING, "orange"), (CRITICAL, "red")]}

# Annotation tags, as the feedback loop writes and reads them (foresight.feedback.annotations;
# the tests hold the two to the same values).
TAG_FORESIGHT = "foresight"
TAG_PREDICTION = "prediction"
TAG_INCIDENT = "incident"
TAG_CONFIRMED, TAG_DISMISSED = "foresight:confirmed", "foresight:dismissed"
INCIDENT_TAGS = [TAG_FORESIGHT, TAG_INCIDENT]


def target_selector(service: str = "$service", predictor: str = "$predictor") -> str:
    """Label matchers for one prediction target (its champion: a challenger in shadow mode is
    shown on the scorecard panel only)."""
    return f'service="{service}",predictor="{predictor}",alias!="challenger"'


def query(ref_id: str, expr: str, legend: str = "", instant: bool = False, table: bool = False) -> prom.Dataquery:
    q = prom.Dataquery().ref_id(ref_id).expr(expr).datasource(PROMETHEUS).legend_format(legend or "__auto")
    q = q.instant() if instant else q.range()
    if table:
        q = q.format(PromQueryFormat.TABLE)
    return q


def datasource_variable() -> db.DatasourceVariable:
    return (db.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus")
            .current(VariableOption(selected=True, text="Prometheus", value="prometheus")))


def label_variable(name: str, label: str, metric: str, multi: bool, label_name: str = "") -> db.QueryVariable:
    """A variable listing one label's values; multi-value ones default to All (regex .*)."""
    definition = f"label_values({metric}, {label_name or name})"
    variable = (db.QueryVariable(name).label(label).datasource(PROMETHEUS)
                .query({"query": definition, "refId": f"{name}-variable"})
                .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC))
    if multi:
        variable = (variable.multi(True).include_all(True).all_value(".*")
                    .current(VariableOption(selected=True, text=["All"], value=["$__all"])))
    return variable


def thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return db.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=value, color=colour) for value, colour in steps])


def severity_thresholds() -> db.ThresholdsConfig:
    return thresholds(*((None if level == 0 else level, colour) for level, (_, colour) in SEVERITY_COLOURS.items()))


def severity_mappings() -> list[ValueMap]:
    return [ValueMap(options={str(level): ValueMappingResult(text=name, color=colour, index=level)
                              for level, (name, colour) in SEVERITY_COLOURS.items()})]


def beyond_horizon_mapping() -> RangeMap:
    """Time to failure is +Inf when no crossing is expected within the horizon: say so."""
    return RangeMap(options=DashboardRangeMapOptions(from_val=1e300, to=None, result=ValueMappingResult(
        text="beyond horizon", color="green", index=0)))


def prop(name: str, value) -> DynamicConfigValue:
    return DynamicConfigValue(id_val=name, value=value)


def tag_annotation(name: str, tags: list[str], colour: str, enable: bool = True) -> db.AnnotationQuery:
    """Annotations from Grafana's store carrying all `tags` (template variables allowed)."""
    return (db.AnnotationQuery().name(name).datasource(GRAFANA_ANNOTATIONS).enable(enable).hide(False)
            .icon_color(colour).target(db.AnnotationTarget().type("tags").tags(tags).match_any(False).limit(500)))


def builtin_annotation() -> db.AnnotationQuery:
    return (db.AnnotationQuery().name("Annotations & Alerts").datasource(GRAFANA_ANNOTATIONS).built_in(1)
            .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)").type("dashboard"))


def foresight_dashboard(uid: str, title: str, description: str) -> db.Dashboard:
    """A dashboard with the settings every Foresight dashboard shares."""
    return (db.Dashboard(title).uid(uid).description(description).tags([TAG_FORESIGHT]).readonly()
            .timezone("browser").time("now-6h", "now").refresh("30s").tooltip(DashboardCursorSync.CROSSHAIR)
            .with_variable(datasource_variable()).annotation(builtin_annotation())
            .link(db.DashboardLink("Foresight").type("dashboards").tags([TAG_FORESIGHT]).as_dropdown(True)
                  .include_vars(False).keep_time(True)))
