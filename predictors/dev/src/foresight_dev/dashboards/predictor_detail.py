"""Foresight predictor detail: one prediction target's series with its forecast range and
limit, time to failure, what drives it, and the timeline of predictions, feedback and incidents."""
from grafana_foundation_sdk.builders import bargauge, dashboard as db, stat, table, text, timeseries
from grafana_foundation_sdk.models.common import (BigValueColorMode, BigValueGraphMode, BigValueTextMode,
                                                  GraphDrawStyle, LineInterpolation)
from grafana_foundation_sdk.models.dashboard import DataTransformerConfig

from .common import (INCIDENT_TAGS, PROMETHEUS, TAG_CONFIRMED, TAG_DISMISSED, TAG_FORESIGHT, TAG_INCIDENT,
                     TAG_PREDICTION, beyond_horizon_mapping, foresight_dashboard, label_variable, prop, query,
                     severity_mappings, severity_thresholds, tag_annotation, target_selector, thresholds)

UID = "foresight-predictor-detail"
TARGET = target_selector() + ',service_instance="$instance"'
PREDICTOR = 'predictor="$predictor"'
# Aggregations merge only the copies of several sidecar replicas, never two targets: a
# service instance may have several (one per filesystem, HTTP route, ...), each shown.
PER_TARGET = "without (job, instance)"
# Table columns the variables already pin; the target's other labels stay as columns.
CHOSEN = {"Time": True, "predictor": True, "service": True, "service_instance": True}

FEEDBACK_HELP = f"""\
### Confirm or dismiss a prediction

Each alert episode of a predictor is written to Grafana as two annotations (orange): one
when it starts and one when it ends. Click either one, choose **Edit**, and add one tag:

| tag | meaning |
|---|---|
| `{TAG_CONFIRMED}` | the prediction was right: this should alert |
| `{TAG_DISMISSED}` | a false alarm: this should not have alerted |

Leave the other tags in place (Foresight needs `{TAG_FORESIGHT}` and `episode:<id>`). Tags
are case-sensitive; an annotation with both is ignored; when the start and end disagree,
confirmed wins. The predictor reads the verdicts back and tunes its threshold (panel
*Probability threshold*); the *Feedback* panel counts them. Details: docs/feedback.md.

Tags Foresight writes:

- prediction: `{TAG_FORESIGHT}`, `{TAG_PREDICTION}`, `predictor:<name>`, `service:<service>`,
  `severity:<info|warning|critical>`, `episode:<id>`; its end also `resolved` and
  `outcome:<failure|receded|withdrawn>`
- incident: `{TAG_FORESIGHT}`, `{TAG_INCIDENT}`

The timeline shows this predictor's predictions for the selected service (orange), the
confirmed (green) and dismissed (grey) ones, and incidents (red).
"""


def severity_now() -> stat.Panel:
    return (stat.Panel().title("Severity").span(4).height(5).datasource(PROMETHEUS)
            .description("The policy's severity for this target now.")
            .with_target(query("A", f"max {PER_TARGET} (foresight_risk_level{{{TARGET}}})", "severity", instant=True))
            .mappings(severity_mappings()).thresholds(severity_thresholds())
            .color_mode(BigValueColorMode.BACKGROUND).graph_mode(BigValueGraphMode.NONE))


def time_to_failure_now() -> stat.Panel:
    quantiles = [("A", "0.1", "earliest (10%)"), ("B", "0.5", "median"), ("C", "0.9", "latest (90%)")]
    panel = (stat.Panel().title("Time to failure").span(8).height(5).datasource(PROMETHEUS)
             .description("Event time until the series crosses its limit, with its 80% range. "
                          "Infinity: no crossing expected within the horizon.")
             .unit("s").mappings([beyond_horizon_mapping()])
             .thresholds(thresholds((None, "red"), (6 * 3600, "orange"), (24 * 3600, "green")))
             .color_mode(BigValueColorMode.VALUE).graph_mode(BigValueGraphMode.NONE)
             .text_mode(BigValueTextMode.VALUE_AND_NAME))
    for ref, q, legend in quantiles:
        panel = panel.with_target(query(
            ref, f'min {PER_TARGET} (foresight_time_to_failure_seconds{{quantile="{q}",{TARGET}}})', legend,
            instant=True))
    return panel


def probability_now() -> bargauge.Panel:
    return (bargauge.Panel().title("Failure probability").span(6).height(5).datasource(PROMETHEUS)
            .description("Probability of crossing the limit within each horizon.")
            .with_target(query("A", f"max {PER_TARGET} (foresight_failure_probability{{{TARGET}}})",
                               "within {{horizon}}", instant=True))
            .unit("percentunit").min(0).max(1)
            .thresholds(thresholds((None, "green"), (0.2, "orange"), (0.8, "red"))))


def policy_threshold() -> stat.Panel:
    return (stat.Panel().title("Probability threshold").span(6).height(5).datasource(PROMETHEUS)
            .description("The failure probability above which the policy raises this predictor's severity; "
                         "tuned by confirmed and dismissed predictions.")
            .with_target(query("A", f"max(foresight_policy_threshold{{{PREDICTOR}}})", "threshold", instant=True))
            .unit("percentunit").color_mode(BigValueColorMode.NONE).graph_mode(BigValueGraphMode.AREA))


def series_with_forecast() -> timeseries.Panel:
    """Observed value, limit, and the forecast at now + horizon as a shaded 10-90% band."""
    forecast = 'foresight_forecast_value{horizon="$horizon",quantile="%s",' + TARGET + "}"
    return (timeseries.Panel().title("Series, forecast range and limit").span(16).height(10).datasource(PROMETHEUS)
            .description("The watched series, its limit, and where the forecast puts it $horizon later "
                         "(80% range shaded, median dashed), plotted at the time the forecast was made.")
            .with_target(query("A", f"foresight_observed_value{{{TARGET}}}", "observed"))
            .with_target(query("B", f"foresight_limit_value{{{TARGET}}}", "limit"))
            .with_target(query("C", forecast % "0.1", "forecast 10%"))
            .with_target(query("D", forecast % "0.5", "forecast median"))
            .with_target(query("E", forecast % "0.9", "forecast 90%"))
            .draw_style(GraphDrawStyle.LINE).line_interpolation(LineInterpolation.LINEAR).line_width(1)
            .fill_opacity(0).span_nulls(False)
            .override_by_query("B", [prop("color", {"mode": "fixed", "fixedColor": "red"}),
                                     prop("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}),
                                     prop("custom.lineWidth", 2)])
            .override_by_query("C", [prop("color", {"mode": "fixed", "fixedColor": "purple"}),
                                     prop("custom.lineWidth", 0)])
            .override_by_query("D", [prop("color", {"mode": "fixed", "fixedColor": "purple"}),
                                     prop("custom.lineStyle", {"fill": "dash", "dash": [4, 4]})])
            .override_by_query("E", [prop("color", {"mode": "fixed", "fixedColor": "purple"}),
                                     prop("custom.lineWidth", 0), prop("custom.fillOpacity", 20),
                                     prop("custom.fillBelowTo", "forecast 10%")]))


def time_to_failure_over_time() -> timeseries.Panel:
    panel = (timeseries.Panel().title("Time to failure over time").span(8).height(10).datasource(PROMETHEUS)
             .description("Median and 80% range; gaps where no crossing was expected within the horizon.")
             .unit("s").min(0).line_width(1).fill_opacity(0).span_nulls(False))
    for ref, q, legend in [("A", "0.1", "10%"), ("B", "0.5", "median"), ("C", "0.9", "90%")]:
        panel = panel.with_target(query(
            ref, f'foresight_time_to_failure_seconds{{quantile="{q}",{TARGET}}} < +Inf', legend))
    return panel


def probability_over_time() -> timeseries.Panel:
    return (timeseries.Panel().title("Failure probability over time").span(12).height(8).datasource(PROMETHEUS)
            .description("Probability of crossing the limit within each horizon, and the predictor's current "
                         "probability threshold (dashed).")
            .with_target(query("A", f"foresight_failure_probability{{{TARGET}}}", "within {{horizon}}"))
            .with_target(query("B", f"max(foresight_policy_threshold{{{PREDICTOR}}})", "policy threshold"))
            .unit("percentunit").min(0).max(1).line_width(1).fill_opacity(0)
            .override_by_query("B", [prop("color", {"mode": "fixed", "fixedColor": "red"}),
                                     prop("custom.lineStyle", {"fill": "dash", "dash": [10, 10]})]))


def trend() -> timeseries.Panel:
    return (timeseries.Panel().title("Trend per hour").span(12).height(8).datasource(PROMETHEUS)
            .description("How fast the watched series moves, in its unit per hour.")
            .with_target(query("A", f"foresight_trend_per_second{{{TARGET}}} * 3600", "trend"))
            .line_width(1).fill_opacity(10))


def attributions() -> bargauge.Panel:
    return (bargauge.Panel().title("Attribution").span(8).height(8).datasource(PROMETHEUS)
            .description("Share of the anomaly attributed to each input feature (SHAP), now.")
            .with_target(query("A", f"max {PER_TARGET} (foresight_attribution_ratio{{{TARGET}}})", "{{feature}}",
                               instant=True))
            .unit("percentunit").min(0).max(1).thresholds(thresholds((None, "blue"))))


def drivers() -> table.Panel:
    return (table.Panel().title("Why: top drivers").span(8).height(8).datasource(PROMETHEUS)
            .description("What drives this prediction, in plain words, most important first.")
            .with_target(query("A", f"max {PER_TARGET} (foresight_driver_info{{{TARGET}}})", instant=True,
                               table=True))
            .with_transformation(DataTransformerConfig(id_val="organize", options={
                "excludeByName": {**CHOSEN, "Value": True},
                "indexByName": {"rank": 0, "text": 1},
                "renameByName": {"text": "driver"}}))
            .sort_by([_sort("rank")]))


def action() -> table.Panel:
    return (table.Panel().title("Recommended action").span(8).height(8).datasource(PROMETHEUS)
            .description("What to do, with this target's numbers filled in; below it the predictor's "
                         "configured resource and action.")
            .with_target(query("A", f"max {PER_TARGET} (foresight_action_info{{{TARGET}}})", instant=True,
                               table=True))
            .with_target(query("B", f"max by (resource, kind, unit, action) (foresight_predictor_info{{{PREDICTOR}}})",
                               instant=True, table=True))
            .with_transformation(DataTransformerConfig(id_val="organize", options={
                "excludeByName": {**CHOSEN, "Value #A": True, "Value #B": True},
                "renameByName": {"text": "action now"}}))
            .override_by_name("action now", [prop("custom.cellOptions", {"type": "auto", "wrapText": True})])
            .override_by_name("action", [prop("custom.cellOptions", {"type": "auto", "wrapText": True})]))


def anomaly_score() -> timeseries.Panel:
    return (timeseries.Panel().title("Anomaly score").span(12).height(8).datasource(PROMETHEUS)
            .description("How unusual the recent behaviour is, 0 to 1 (anomaly and log predictors).")
            .with_target(query("A", f"foresight_anomaly_score{{{TARGET}}}", "score"))
            .min(0).max(1).line_width(1).fill_opacity(10)
            .thresholds(thresholds((None, "green"), (0.8, "red"))))


def log_templates() -> timeseries.Panel:
    return (timeseries.Panel().title("Log templates").span(12).height(8).datasource(PROMETHEUS)
            .description("Log lines per second for the service's most frequent templates (the rest as 'other').")
            .with_target(query("A", 'sum by (template_id, template, severity) '
                                    '(foresight_log_template_rate{service="$service"})',
                               "{{severity}} {{template}}"))
            .unit("ops").line_width(1).fill_opacity(0))


def feedback_counts() -> stat.Panel:
    return (stat.Panel().title("Feedback").span(6).height(9).datasource(PROMETHEUS)
            .description("Predictions of this predictor confirmed or dismissed in the time range, and failures "
                         "the tuned threshold held back (missed_failure).")
            .with_target(query("A", f"sum by (verdict) (increase(foresight_feedback_total{{{PREDICTOR}}}[$__range]))",
                               "{{verdict}}", instant=True))
            .decimals(0).color_mode(BigValueColorMode.VALUE).graph_mode(BigValueGraphMode.NONE)
            .text_mode(BigValueTextMode.VALUE_AND_NAME)
            .override_by_name("confirmed", [prop("color", {"mode": "fixed", "fixedColor": "green"})])
            .override_by_name("dismissed", [prop("color", {"mode": "fixed", "fixedColor": "text"})])
            .override_by_name("missed_failure", [prop("color", {"mode": "fixed", "fixedColor": "red"})]))


def model_scorecard() -> table.Panel:
    return (table.Panel().title("Model scorecard").span(24).height(8).datasource(PROMETHEUS)
            .description("The live scorecard of this predictor's champion and, while one runs in shadow, its "
                         "challenger, scored as the truth arrives: 1 h forecast error scaled by the no-change "
                         "forecast's (below 1 is better), p10-p90 coverage (80% nominal), alert episodes, verdicts, "
                         "and the days the challenger was better. Docs: docs/lifecycle.md.")
            .with_target(query("A", f"max by (score, alias) (foresight_model_score{{{PREDICTOR}}})", instant=True,
                               table=True))
            .with_target(query("B", f"max by (signal) (foresight_model_drift{{{PREDICTOR}}})", instant=True,
                               table=True))
            .with_transformation(DataTransformerConfig(id_val="organize", options={
                "excludeByName": {"Time": True},
                "indexByName": {"score": 0, "alias": 1, "Value #A": 2, "signal": 3, "Value #B": 4},
                "renameByName": {"Value #A": "value", "signal": "drift signal", "Value #B": "drifting"}}))
            .sort_by([_sort("score")]))


def feedback_help() -> text.Panel:
    return text.Panel().title("Confirm or dismiss a prediction").span(18).height(9).mode("markdown").content(FEEDBACK_HELP)


def _sort(field: str):
    from grafana_foundation_sdk.builders import common as common_builders

    return common_builders.TableSortByFieldState().display_name(field).desc(False)


def build() -> db.Dashboard:
    predictions = [TAG_FORESIGHT, TAG_PREDICTION, "predictor:$predictor", "service:$service"]
    return (foresight_dashboard(UID, "Foresight predictor detail",
                                "One prediction target: its series with the forecast range and limit, time to "
                                "failure, what drives it, and past predictions, feedback and incidents.")
            .with_variable(label_variable("service", "Service", "foresight_risk_level", multi=False))
            .with_variable(label_variable("predictor", "Predictor", 'foresight_risk_level{service="$service"}',
                                          multi=False))
            .with_variable(label_variable("instance", "Instance", 'foresight_risk_level{service="$service",'
                                          'predictor="$predictor"}', multi=False, label_name="service_instance"))
            .with_variable(label_variable("horizon", "Forecast horizon",
                                          f"foresight_forecast_value{{{TARGET}}}", multi=False))
            .annotation(tag_annotation("Predictions", predictions, "orange"))
            .annotation(tag_annotation("Confirmed", [TAG_CONFIRMED, "predictor:$predictor"], "green"))
            .annotation(tag_annotation("Dismissed", [TAG_DISMISSED, "predictor:$predictor"], "gray"))
            .annotation(tag_annotation("Incidents", INCIDENT_TAGS, "red"))
            .with_row(db.Row("Now"))
            .with_panel(severity_now())
            .with_panel(time_to_failure_now())
            .with_panel(probability_now())
            .with_panel(policy_threshold())
            .with_row(db.Row("Forecast"))
            .with_panel(series_with_forecast())
            .with_panel(time_to_failure_over_time())
            .with_panel(probability_over_time())
            .with_panel(trend())
            .with_row(db.Row("Why"))
            .with_panel(attributions())
            .with_panel(drivers())
            .with_panel(action())
            .with_panel(anomaly_score())
            .with_panel(log_templates())
            .with_row(db.Row("Model"))
            .with_panel(model_scorecard())
            .with_row(db.Row("Feedback"))
            .with_panel(feedback_counts())
            .with_panel(feedback_help()))
