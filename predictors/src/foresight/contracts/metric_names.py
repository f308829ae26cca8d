"""The foresight_* metric names: what the sidecar publishes, and what the alert rules, the
dashboards and docs/metrics.md query. tests/test_metric_names.py checks that every name
they mention is defined here."""

# Predictions, one series per target (labels: predictor and the target's identity).
TIME_TO_FAILURE = "foresight_time_to_failure_seconds"  # + quantile
FAILURE_PROBABILITY = "foresight_failure_probability"  # + horizon
FORECAST_VALUE = "foresight_forecast_value"  # + horizon, quantile
RISK_LEVEL = "foresight_risk_level"
OBSERVED_VALUE = "foresight_observed_value"
LIMIT_VALUE = "foresight_limit_value"
TREND_PER_SECOND = "foresight_trend_per_second"
LAST_EVALUATION = "foresight_last_evaluation_timestamp_seconds"
ANOMALY_SCORE = "foresight_anomaly_score"
ANOMALY_PEAK_SCORE = "foresight_anomaly_peak_score"  # while at risk: the highest score since the level rose
ATTRIBUTION_RATIO = "foresight_attribution_ratio"  # + feature
DRIVER_INFO = "foresight_driver_info"  # + rank, text
ACTION_INFO = "foresight_action_info"  # + text
INCIDENT_INFO = "foresight_incident_info"  # + incident, root_cause
MODEL_INFO = "foresight_model_info"  # + model
DAILY_PROFILE_DAYS = "foresight_daily_profile_days"
LOG_TEMPLATE_RATE = "foresight_log_template_rate"  # + template_id, template, severity
# Per predictor.
PREDICTOR_INFO = "foresight_predictor_info"
PREDICTOR_READY = "foresight_predictor_ready"  # 1 once every target scores and may alert (min_history)
POLICY_THRESHOLD = "foresight_policy_threshold"
MODEL_VERSION = "foresight_model_version"  # with --registry: the registry version of the bundle it runs
MODEL_SCORE = "foresight_model_score"  # + alias, score: the live scorecard of champion and challenger
MODEL_DRIFT = "foresight_model_drift"  # + target labels, signal: 1 while a drift detection holds

# The sidecar's own health (counters without their _total suffix, as prometheus_client takes them).
POINTS_INGESTED = "foresight_points_ingested"
BAD_INPUT = "foresight_bad_input"
COUNTER_RESETS = "foresight_counter_resets"
CONSUMER_LAG = "foresight_consumer_lag_messages"
PARTITIONS_ASSIGNED = "foresight_kafka_partitions_assigned"  # this replica's share of the consumer group
INFERENCE_DURATION = "foresight_inference_duration_seconds"
REFIT_DURATION = "foresight_refit_duration_seconds"  # scheduled refits, after the predictions are out
EVENT_TIME = "foresight_event_time_seconds"
SERIES_TRACKED = "foresight_series_tracked"
SERIES_EVICTED = "foresight_series_evicted"  # + reason: idle past the TTL, or max_series reached
TARGETS_DROPPED = "foresight_targets_dropped"  # + predictor: series beyond max_targets
PREDICTOR_ERRORS = "foresight_predictor_errors"  # + predictor: unexpected exceptions, caught
WARMUP_POINTS = "foresight_warmup_points"
# The feedback loop.
FEEDBACK = "foresight_feedback"
FEEDBACK_SKIPPED = "foresight_feedback_skipped"
GRAFANA_ERRORS = "foresight_grafana_errors"
ANNOTATIONS_WRITTEN = "foresight_annotations_written"
ANNOTATIONS_DROPPED = "foresight_annotations_dropped"
ANNOTATION_QUEUE = "foresight_annotation_queue_length"

COUNTERS = (POINTS_INGESTED, BAD_INPUT, COUNTER_RESETS, WARMUP_POINTS, FEEDBACK, FEEDBACK_SKIPPED, GRAFANA_ERRORS,
            ANNOTATIONS_WRITTEN, ANNOTATIONS_DROPPED, TARGETS_DROPPED, PREDICTOR_ERRORS, SERIES_EVICTED)
HISTOGRAMS = (INFERENCE_DURATION, REFIT_DURATION)


def exposed_names() -> set[str]:
    """Every series name a scrape of the sidecar can show (counters with _total, histograms
    with _bucket, _count and _sum)."""
    names = {value for key, value in globals().items() if key.isupper() and isinstance(value, str)}
    names |= {f"{name}_total" for name in COUNTERS} | {f"{name}_created" for name in COUNTERS}
    names |= {f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_count", "_sum", "_created")}
    return names


__all__ = [name for name in dir() if name.isupper()] + ["exposed_names"]
