"""The predictor template: plumbing here, the model in each plugin's `_predict`."""
import math
from dataclasses import dataclass, field

from ..config import PredictorConfig
from ..series import SeriesStore, Window

PUBLISHED_HORIZONS = (3600.0, 6 * 3600.0, 24 * 3600.0)
TTF_QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class Prediction:
    """One evaluation of one target; what the publishers and the policy read."""
    predictor: str
    labels: dict  # output labels besides `predictor`: service, service_instance
    timestamp: float  # event time of the newest data used
    observed: float
    limit: float
    trend_per_second: float
    ttf: dict  # quantile -> seconds (inf when no crossing within the horizon)
    probability: dict  # window seconds -> probability of crossing within it
    forecast: dict = field(default_factory=dict)  # (horizon seconds, quantile) -> value
    history_seconds: float = math.inf  # how long this target has been watched
    failures_seen: int = 0  # times this target has reached its limit while watched
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


class Predictor:
    """Base class. Subclasses set `Config` and implement `_predict`."""
    Config = PredictorConfig

    def __init__(self, config: PredictorConfig):
        self.config = config
        self._next_due: dict[tuple, float] = {}
        self._first_seen: dict[tuple, float] = {}
        self._predicted: set[tuple] = set()  # series keys with a published prediction
        self.withdrawn: list[tuple] = []  # prediction keys that could not be renewed in the last evaluate()

    def selectors(self) -> list:
        """Every series selector this predictor reads (for filtering and warm-up)."""
        return [self.config.series]

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
                prediction.history_seconds = now - first_seen
                results.append(prediction)
                self._predicted.add(key)
            elif key in self._predicted:
                self._predicted.discard(key)
                self.withdrawn.append((self.config.name, tuple(sorted(output_labels(dict(key[1])).items()))))
        return results

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        raise NotImplementedError
