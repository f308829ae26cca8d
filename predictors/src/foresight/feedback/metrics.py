"""Metrics of the feedback loop, registered into the registry the service passes in."""
from prometheus_client import CollectorRegistry, Counter, Gauge

from foresight.contracts import metric_names as names

VERDICTS = ("confirmed", "dismissed", "missed_failure")
SKIP_REASONS = ("malformed", "conflicting_tags", "unknown_episode", "unknown_predictor")
OPERATIONS = ("read", "write")
DROP_REASONS = ("queue_full", "rejected")


class FeedbackMetrics:
    def __init__(self, registry: CollectorRegistry, predictors=()):
        self.feedback = Counter(
            names.FEEDBACK, "Engineer verdicts read from Grafana annotations",
            ["predictor", "verdict"], registry=registry)
        self.feedback_skipped = Counter(
            names.FEEDBACK_SKIPPED, "Verdict annotations that could not be used",
            ["reason"], registry=registry)
        self.grafana_errors = Counter(
            names.GRAFANA_ERRORS, "Grafana requests that failed (retried at the next poll)",
            ["operation"], registry=registry)
        self.annotations_written = Counter(
            names.ANNOTATIONS_WRITTEN, "Prediction annotations written to Grafana",
            registry=registry)
        self.annotations_dropped = Counter(
            names.ANNOTATIONS_DROPPED, "Prediction annotations given up on",
            ["reason"], registry=registry)
        self.queue = Gauge(
            names.ANNOTATION_QUEUE, "Annotations waiting for Grafana to come back",
            registry=registry)
        # Every known label value starts at 0, so rate() and dashboards work before the first event.
        for predictor in predictors:
            for verdict in VERDICTS:
                self.feedback.labels(predictor, verdict)
        for reason in SKIP_REASONS:
            self.feedback_skipped.labels(reason)
        for operation in OPERATIONS:
            self.grafana_errors.labels(operation)
        for reason in DROP_REASONS:
            self.annotations_dropped.labels(reason)
