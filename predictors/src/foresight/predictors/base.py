"""The predictor template: plumbing here, the model in each plugin's `_predict`."""
import math
from dataclasses import dataclass, field

from ..config import PredictorConfig
from ..series import SeriesStore, Window

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


def same_target(target_labels: dict, candidates: list[tuple[tuple, Window]]) -> Window | None:
    """The candidate series of the target's own service (and instance, where both have one);
    a lone candidate when the driver is not per service (e.g. a shared database)."""
    best = None
    for key, window in candidates:
        labels = dict(key[1])
        if labels.get("job") != target_labels.get("job"):
            continue
        if "instance" in labels and "instance" in target_labels and labels["instance"] != target_labels["instance"]:
            continue
        best = window
        break
    if best is None and len(candidates) == 1:
        best = candidates[0][1]
    return best


class Predictor:
    """Base class. Subclasses set `Config` and implement `_predict`."""
    Config = PredictorConfig
    scores_anomalies = False  # True for kinds whose policy reads anomaly scores
    reads_logs = False  # True for kinds fed log lines (add_log_lines) rather than series
    explain_every = 300.0  # seconds of event time between recomputing a target's drivers
    explain_window = 2 * 3600.0  # how much history the lagged correlation looks at

    def __init__(self, config: PredictorConfig):
        self.config = config
        self._explained: dict[tuple, tuple] = {}  # key -> (when, driver sentences, steady driver names)
        self._source_labels: dict[tuple, dict] = {}  # prediction key -> its source series' labels
        self._next_due: dict[tuple, float] = {}
        self._first_seen: dict[tuple, float] = {}
        self._predicted: set[tuple] = set()  # series keys with a published prediction
        self.withdrawn: list[tuple] = []  # prediction keys that could not be renewed in the last evaluate()

    def bad_input(self) -> dict:
        """Input this predictor dropped, by reason (most kinds drop nothing of their own)."""
        return {}

    def selectors(self) -> list:
        """Every series selector this predictor reads (for filtering and warm-up)."""
        return [self.config.series, *self.config.drivers.values()]

    def explain(self, prediction: Prediction, store: SeriesStore):
        """Fill `prediction.drivers`: the configured drivers ranked by lagged correlation with
        the target (and by attribution, where the kind has one), in plain words; without a
        notable driver, the model's own reason (e.g. the trend)."""
        if prediction.drivers:
            return
        steady = self._rank_drivers(prediction, store) if self.config.drivers else []
        if not prediction.drivers:
            # No driver moved: the model's own reason, and which drivers held steady (a
            # steady request rate says the growth is not load).
            reason = self.own_reason(prediction)
            if reason and steady:
                reason += f"; {', '.join(steady)} steady"
            prediction.drivers = [reason] if reason else []

    def own_reason(self, prediction: Prediction) -> str:
        """Why, from the model alone: how the watched series moves. Kinds may say more."""
        from ..actions import format_quantity

        name, unit = self.config.resource or self.config.series.metric, self.config.unit
        if prediction.trend_per_second is None or prediction.observed is None:
            return ""
        per_hour = prediction.trend_per_second * 3600
        sign = "+" if per_hour >= 0 else "-"
        text = f"{name} {sign}{format_quantity(abs(per_hour), unit)} per hour, at {format_quantity(prediction.observed, unit)}"
        if prediction.limit is not None:
            text += f" of {format_quantity(prediction.limit, unit)}"
        return text

    def _rank_drivers(self, prediction: Prediction, store: SeriesStore) -> list:
        """Set the drivers that moved, strongest first; returns the names of those that held steady."""
        cached = self._explained.get(prediction.key)
        if cached and prediction.timestamp - cached[0] < self.explain_every:
            prediction.drivers = cached[1]
            return cached[2]
        from ..explain.drivers import DriverSettings, rank_drivers  # late import: only alerting targets pay
        from ..explain.features import attributions_by_series

        target_labels = self._source_labels.get(prediction.key, {})
        target = same_target(target_labels, store.matching(self.config.series))
        if target is None or len(target) < 3:
            return []
        since = prediction.timestamp - self.explain_window
        candidates = {}
        for name, selector in self.config.drivers.items():
            window = same_target(target_labels, store.matching(selector))
            if window is not None and len(window) >= 3:
                candidates[name] = window.arrays(since)
        target_name = self.config.resource or self.config.series.metric
        shares = attributions_by_series(prediction.attributions) if prediction.attributions else None
        ranked = rank_drivers(target_name, target.arrays(since), candidates, prediction.timestamp, attributions=shares)
        limits = DriverSettings()

        def moved(d) -> bool:  # a driver that did not change cannot explain a change
            return (d.since is not None or abs(d.change_ratio) >= limits.min_change
                    or (d.attribution or 0.0) >= limits.min_attribution)

        prediction.drivers = [d.text for d in ranked if d.notable and moved(d)][:3]
        steady = [d.name for d in ranked if d.significant and not moved(d)]
        self._explained[prediction.key] = (prediction.timestamp, prediction.drivers, steady)
        return steady

    def evaluate(self, store: SeriesStore) -> list[Prediction]:
        """Evaluate each target whose data has moved `evaluate_every` past its last run.

        A target that had a prediction and now cannot get one (too few points since a
        reset, its limit gone) is listed in `withdrawn`: a stale forecast is worse than none.
        """
        results, self.withdrawn = [], []
        for key, window in store.matching(self.config.series):
            now = window.last_time
            if now is None or now < self._next_due.get(key, -math.inf):
                continue
            self._next_due[key] = now + self.config.evaluate_every
            first_seen = self._first_seen.setdefault(key, float(window.times[0]))
            prediction = self._predict(dict(key[1]), window, store, now)
            if prediction is not None:
                self._source_labels[prediction.key] = dict(key[1])
                prediction.history_seconds = now - first_seen
                results.append(prediction)
                self._predicted.add(key)
            elif key in self._predicted:
                self._predicted.discard(key)
                self.withdrawn.append((self.config.name, tuple(sorted(output_labels(dict(key[1])).items()))))
        return results

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        raise NotImplementedError
