"""What a predictor says about one target: the Prediction, its identity and the published horizons."""
import math
from dataclasses import dataclass, field

PUBLISHED_HORIZONS = (3600.0, 6 * 3600.0, 24 * 3600.0)
TTF_QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class Prediction:
    """One evaluation of one target; what the publishers and the policy read.

    Exhaustion predictions fill `limit`, `ttf` and `probability`; anomaly and log
    predictions fill `anomaly_score` and leave those empty (None or {}).
    """
    predictor: str
    labels: dict  # output labels besides `predictor`: service, service_instance
    timestamp: float  # event time of the newest data used
    observed: float | None
    limit: float | None = None
    trend_per_second: float | None = None
    ttf: dict = field(default_factory=dict)  # quantile -> seconds (inf when no crossing within the horizon)
    probability: dict = field(default_factory=dict)  # window seconds -> probability of crossing within it
    forecast: dict = field(default_factory=dict)  # (horizon seconds, quantile) -> value
    history_seconds: float = math.inf  # how long this target has been watched
    failures_seen: int = 0  # times this target has reached its limit while watched
    anomaly_score: float | None = None  # [0, 1], for the kinds that score anomalies
    attributions: dict = field(default_factory=dict)  # feature -> share of the anomaly (sums to 1)
    drivers: list = field(default_factory=list)  # "why": plain-word sentences, strongest first
    action: str = ""  # the predictor's recommended action with the numbers filled in
    model: str = ""  # which model produced the forecast, where the kind chooses one
    incident: tuple | None = None  # (incident id, root-cause service) while at risk
    log_templates: list = field(default_factory=list)  # logs kind: (template_id, template, severity, per second)
    risk_level: int = 0

    @property
    def key(self) -> tuple:
        return (self.predictor, tuple(sorted(self.labels.items())))


def output_labels(series_labels: dict) -> dict:
    """The source series' identity as labels on foresight_* outputs.

    `job` and `instance` are renamed so they do not clash with the labels Prometheus
    attaches to the sidecar's own scrape.
    """
    labels = {"service": series_labels.get("job", "")}
    if series_labels.get("instance"):
        labels["service_instance"] = series_labels["instance"]
    return labels


__all__ = ["PUBLISHED_HORIZONS", "TTF_QUANTILES", "Prediction", "output_labels"]
