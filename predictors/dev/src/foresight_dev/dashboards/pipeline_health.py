"""Foresight pipeline health: is the predictor sidecar keeping up with its input?
Ingest rate, consumer lag, bad input and inference loop duration, per sidecar."""
from grafana_foundation_sdk.builders import dashboard as db, stat, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.models.common import (BigValueColorMode, BigValueGraphMode, BigValueTextMode,
                                                  GraphThresholdsStyleMode)

from .common import PROMETHEUS, foresight_dashboard, label_variable, prop, query, thresholds

UID = "foresight-pipeline-health"
SIDECARS = 'instance=~"$instance"'
# The thresholds of the pipeline alerts in prometheus/rules/, drawn as lines on the panels.
BAD_INPUT_ALERT_PER_SECOND = 1
CONSUMER_LAG_ALERT_MESSAGES = 10000
INFERENCE_SLOW_ALERT_SECONDS = 1


def threshold_lines(panel: timeseries.Panel, limit: float) -> timeseries.Panel:
    return (panel.thresholds(thresholds((None, "green"), (limit, "red")))
            .thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)))


def sidecars_up() -> stat.Panel:
    return (stat.Panel().title("Sidecars up").span(4).height(5).datasource(PROMETHEUS)
            .description("Predictor sidecars answering Prometheus scrapes (job foresight; alert ForesightPredictorDown).")
            .with_target(query("A", 'sum(up{job="foresight",%s})' % SIDECARS, "up", instant=True))
            .with_target(query("B", 'count(up{job="foresight",%s})' % SIDECARS, "expected", instant=True))
            .thresholds(thresholds((None, "red"), (1, "green")))
            .color_mode(BigValueColorMode.BACKGROUND).graph_mode(BigValueGraphMode.NONE)
            .text_mode(BigValueTextMode.VALUE_AND_NAME))


def event_time() -> stat.Panel:
    # The watermark is a data timestamp in seconds; Grafana's date units take milliseconds.
    return (stat.Panel().title("Event-time watermark").span(6).height(5).datasource(PROMETHEUS)
            .description("Newest data timestamp each sidecar has seen. Predictions run on this clock, not the "
                         "wall clock, so replays and backfills are predicted as if live.")
            .with_target(query("A", f"max by (instance) (foresight_event_time_seconds{{{SIDECARS}}}) * 1000",
                               "{{instance}}", instant=True))
            .unit("dateTimeAsIso").color_mode(BigValueColorMode.NONE).graph_mode(BigValueGraphMode.NONE))


def evaluation_behind() -> stat.Panel:
    return (stat.Panel().title("Evaluation behind watermark").span(5).height(5).datasource(PROMETHEUS)
            .description("Event time between the newest data and the oldest latest evaluation of any target: "
                         "large values mean predictions are stale.")
            .with_target(query("A", f"max by (instance) (foresight_event_time_seconds{{{SIDECARS}}}) - on (instance) "
                                    f"min by (instance) (foresight_last_evaluation_timestamp_seconds{{{SIDECARS}}})",
                               "{{instance}}", instant=True))
            .unit("s").thresholds(thresholds((None, "green"), (600, "orange"), (3600, "red")))
            .color_mode(BigValueColorMode.VALUE).graph_mode(BigValueGraphMode.AREA))


def series_tracked() -> stat.Panel:
    return (stat.Panel().title("Series tracked").span(5).height(5).datasource(PROMETHEUS)
            .description("Series held in windows, and points loaded from Prometheus at start (warm-up).")
            .with_target(query("A", f"sum(foresight_series_tracked{{{SIDECARS}}})", "series", instant=True))
            .with_target(query("B", f"sum(foresight_warmup_points_total{{{SIDECARS}}})", "warm-up points",
                               instant=True))
            .color_mode(BigValueColorMode.NONE).graph_mode(BigValueGraphMode.AREA)
            .text_mode(BigValueTextMode.VALUE_AND_NAME))


def predictions_published() -> stat.Panel:
    return (stat.Panel().title("Targets predicted").span(4).height(5).datasource(PROMETHEUS)
            .description("Prediction targets with a published severity.")
            .with_target(query("A", f"count(foresight_risk_level{{{SIDECARS}}})", "targets", instant=True))
            .color_mode(BigValueColorMode.NONE).graph_mode(BigValueGraphMode.AREA))


def ingest_rate() -> timeseries.Panel:
    return (timeseries.Panel().title("Ingest rate").span(12).height(8).datasource(PROMETHEUS)
            .description("Data points, log records and spans accepted per second.")
            .with_target(query("A", "sum by (signal) (rate(foresight_points_ingested_total{%s}[$__rate_interval]))"
                               % SIDECARS, "{{signal}}"))
            .unit("ops").min(0).line_width(1).fill_opacity(10))


def consumer_lag() -> timeseries.Panel:
    panel = (timeseries.Panel().title("Consumer lag").span(12).height(8).datasource(PROMETHEUS)
             .description(f"Messages behind the end of each Kafka topic. Alert ForesightConsumerLagHigh above "
                          f"{CONSUMER_LAG_ALERT_MESSAGES}.")
             .with_target(query("A", f"sum by (topic) (foresight_consumer_lag_messages{{{SIDECARS}}})", "{{topic}}"))
             .unit("short").min(0).line_width(1).fill_opacity(0))
    return threshold_lines(panel, CONSUMER_LAG_ALERT_MESSAGES)


def bad_input() -> timeseries.Panel:
    panel = (timeseries.Panel().title("Bad input").span(12).height(8).datasource(PROMETHEUS)
             .description(f"Input dropped per second by reason, and counter resets detected (kept). Alert "
                          f"ForesightBadInputHigh above {BAD_INPUT_ALERT_PER_SECOND}/s.")
             .with_target(query("A", "sum by (reason) (rate(foresight_bad_input_total{%s}[$__rate_interval]))"
                                % SIDECARS, "{{reason}}"))
             .with_target(query("B", "sum(rate(foresight_counter_resets_total{%s}[$__rate_interval]))" % SIDECARS,
                                "counter resets (kept)"))
             .unit("ops").min(0).line_width(1).fill_opacity(0))
    return threshold_lines(panel, BAD_INPUT_ALERT_PER_SECOND)


def inference_duration() -> timeseries.Panel:
    bucket_rate = "sum by (le) (rate(foresight_inference_duration_seconds_bucket{%s}[$__rate_interval]))" % SIDECARS
    refit_rate = "sum by (le) (rate(foresight_refit_duration_seconds_bucket{%s}[$__rate_interval]))" % SIDECARS
    panel = (timeseries.Panel().title("Inference loop duration").span(12).height(8).datasource(PROMETHEUS)
             .description("Duration of one inference loop over all due predictors, up to its predictions. Alert "
                          "ForesightInferenceSlow when the 99th percentile stays high. The scheduled model refits "
                          "run after the predictions are published: their p99 is the dashed line.")
             .unit("s").min(0).line_width(1).fill_opacity(0))
    for ref, q in [("A", "0.5"), ("B", "0.9"), ("C", "0.99")]:
        panel = panel.with_target(query(ref, f"histogram_quantile({q}, {bucket_rate})", f"p{round(float(q) * 100)}"))
    panel = (panel.with_target(query("D", f"histogram_quantile(0.99, {refit_rate})", "refits after publication, p99"))
             .override_by_query("D", [prop("custom.lineStyle", {"fill": "dash", "dash": [10, 10]})]))
    return threshold_lines(panel, INFERENCE_SLOW_ALERT_SECONDS)


def inference_rate() -> timeseries.Panel:
    return (timeseries.Panel().title("Inference loops per second").span(12).height(8).datasource(PROMETHEUS)
            .description("Inference loops run per second by each sidecar; predictors are evaluated when due "
                         "in event time, so this follows the input's pace.")
            .with_target(query("A", "sum by (instance) (rate(foresight_inference_duration_seconds_count{%s}"
                                    "[$__rate_interval]))" % SIDECARS, "{{instance}}"))
            .unit("ops").min(0).line_width(1).fill_opacity(10))


def annotations_to_grafana() -> timeseries.Panel:
    return (timeseries.Panel().title("Prediction annotations").span(12).height(8).datasource(PROMETHEUS)
            .description("Prediction annotations written to Grafana per second, and those waiting for Grafana "
                         "(the queue grows while Grafana is unreachable). docs/feedback.md.")
            .with_target(query("A", f"sum(rate(foresight_annotations_written_total{{{SIDECARS}}}[$__rate_interval]))",
                               "written per second"))
            .with_target(query("B", f"sum(foresight_annotation_queue_length{{{SIDECARS}}})", "waiting"))
            .min(0).line_width(1).fill_opacity(0)
            .override_by_query("B", [prop("custom.axisPlacement", "right"), prop("unit", "short")])
            .unit("ops"))


def feedback_problems() -> timeseries.Panel:
    return (timeseries.Panel().title("Feedback loop problems").span(12).height(8).datasource(PROMETHEUS)
            .description("Failed Grafana requests (retried), annotations given up on, and verdict annotations "
                         "that could not be used, per second.")
            .with_target(query("A", "sum by (operation) (rate(foresight_grafana_errors_total{%s}[$__rate_interval]))"
                               % SIDECARS, "Grafana {{operation}} errors"))
            .with_target(query("B", "sum by (reason) (rate(foresight_annotations_dropped_total{%s}"
                                    "[$__rate_interval]))" % SIDECARS, "dropped: {{reason}}"))
            .with_target(query("C", "sum by (reason) (rate(foresight_feedback_skipped_total{%s}[$__rate_interval]))"
                               % SIDECARS, "verdict skipped: {{reason}}"))
            .unit("ops").min(0).line_width(1).fill_opacity(0))


def build() -> db.Dashboard:
    return (foresight_dashboard(UID, "Foresight pipeline health",
                                "Is the predictor keeping up? Ingest rate, consumer lag, bad input and inference "
                                "loop duration of each sidecar.")
            .with_variable(label_variable("instance", "Sidecar", 'up{job="foresight"}', multi=True))
            .with_row(db.Row("Sidecars"))
            .with_panel(sidecars_up())
            .with_panel(event_time())
            .with_panel(evaluation_behind())
            .with_panel(series_tracked())
            .with_panel(predictions_published())
            .with_row(db.Row("Input"))
            .with_panel(ingest_rate())
            .with_panel(consumer_lag())
            .with_panel(bad_input())
            .with_row(db.Row("Inference"))
            .with_panel(inference_duration())
            .with_panel(inference_rate())
            .with_row(db.Row("Feedback loop (Grafana annotations)"))
            .with_panel(annotations_to_grafana())
            .with_panel(feedback_problems()))
