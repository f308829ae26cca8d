"""What a predictor says about one target: the Prediction, its identity and the published horizons."""
import math
import re
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
    labels: dict  # the target's identity besides `predictor` (output_labels of its source series)
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
    persisting: bool | None = None  # anomaly kind: still away from its level (holds a detection); else None
    peer_outlier: bool | None = None  # young targets at risk (exhaustion) or away (anomaly): moved apart from peers; else None
    attributions: dict = field(default_factory=dict)  # feature -> share of the anomaly (sums to 1)
    drivers: list = field(default_factory=list)  # "why": plain-word sentences, strongest first
    action: str = ""  # the predictor's recommended action with the numbers filled in
    model: str = ""  # which model produced the forecast, where the kind chooses one
    daily_profile_days: int | None = None  # days the daily profile was fitted on (0: none yet); kinds without one: None
    burst_height: float = 0.0  # exhaustion: how high the target's bursts commonly rise above its trend (0: no bursts)
    incident: tuple | None = None  # (incident id, root-cause service) while at risk
    log_templates: list = field(default_factory=list)  # logs kind: (template_id, template, severity, per second)
    risk_level: int = 0

    @property
    def key(self) -> tuple:
        """(predictor, sorted label items). Kept until `labels` is replaced: labels are
        replaced, never changed in place."""
        cached = self.__dict__.get("_key")
        if cached is None or cached[0] is not self.labels:
            cached = self.__dict__["_key"] = (self.labels, (self.predictor, tuple(sorted(self.labels.items()))))
        return cached[1]

    def identify(self, key: tuple):
        """Take the labels of a prediction key (predictor, sorted label items), and the key itself."""
        self.labels = dict(key[1])
        if key[0] == self.predictor:
            self.__dict__["_key"] = (self.labels, key)


# Labels Foresight adds to its outputs, the labels its alert rules set, and those
# Prometheus sets on alerts. A source label of one of these names is published as
# exported_<name> (Prometheus' rule for such clashes), so none can overwrite another.
ADDED_LABELS = frozenset({
    "predictor", "quantile", "horizon", "feature", "rank", "text", "model", "incident", "root_cause",
    "template_id", "template", "severity", "alias", "le", "service", "service_instance",
    "kind", "resource", "foresight_target", "alertname", "alertstate",
})
RENAMED = {"job": "service", "instance": "service_instance"}
EXPORTED_PREFIX = "exported_"
_INVALID = re.compile(r"[^a-zA-Z0-9_]")


def output_labels(series_labels: dict, drop=()) -> dict:
    """A target's identity: its source series' labels, minus `drop`, as labels on foresight_*.

    `job` and `instance` become `service` and `service_instance`, so they do not clash
    with the labels Prometheus attaches to the sidecar's own scrape. A label Foresight
    adds itself is published as exported_<name> (exported_exported_<name> if that is
    taken too). Names are made valid Prometheus label names; empty values are absent,
    as in Prometheus.
    """
    labels = {}
    clashing = []
    for name, value in sorted(series_labels.items()):
        if name in drop or value == "":
            continue
        if name in RENAMED:
            labels[RENAMED[name]] = value
            continue
        clean = _label_name(name)
        if clean in ADDED_LABELS or clean.startswith("__"):
            clashing.append((clean, value))
        else:
            labels[clean] = value
    for name, value in clashing:  # after the others, so an exported_ name already present wins
        name = EXPORTED_PREFIX + name
        while name in labels:
            name = EXPORTED_PREFIX + name
        labels[name] = value
    return labels


def _label_name(name: str) -> str:
    """`k8s.pod.name` -> `k8s_pod_name`: OTLP attributes and CSV headers may hold any character."""
    clean = _INVALID.sub("_", name)
    return "_" + clean if clean[:1].isdigit() or not clean else clean


__all__ = ["ADDED_LABELS", "EXPORTED_PREFIX", "PUBLISHED_HORIZONS", "TTF_QUANTILES", "Prediction", "output_labels"]
