"""Metrics of the feedback loop, registered into the registry the service passes in."""
from prometheus_client import CollectorRegistry, Counter, Gauge


class FeedbackMetrics:
    def __init__(self, registry: CollectorRegistry, export_threshold: bool = True):
        self.threshold = Gauge(
            "foresight_policy_threshold", "The alert threshold each predictor's policy uses now (tuned by feedback)",
            ["predictor"], registry=registry) if export_threshold else None
        self.feedback = Counter(
            "foresight_feedback_total", "Engineer verdicts read from Grafana annotations",
            ["predictor", "verdict"], registry=registry)
        self.feedback_skipped = Counter(
            "foresight_feedback_skipped_total", "Verdict annotations that could not be used",
            ["reason"], registry=registry)
        self.grafana_errors = Counter(
            "foresight_grafana_errors_total", "Grafana requests that failed (retried at the next poll)",
            ["operation"], registry=registry)
        self.annotations_written = Counter(
            "foresight_annotations_written_total", "Prediction annotations written to Grafana",
            registry=registry)
        self.annotations_dropped = Counter(
            "foresight_annotations_dropped_total", "Prediction annotations given up on",
            ["reason"], registry=registry)
        self.queue = Gauge(
            "foresight_annotation_queue_length", "Annotations waiting for Grafana to come back",
            registry=registry)
