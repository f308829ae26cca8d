"""The predictor template: plumbing here, the model in each plugin's `_predict`."""
import math

from foresight.config import PredictorConfig
from foresight.contracts.points import Point
from foresight.contracts.predictions import Prediction, output_labels
from foresight.store import SeriesStore, Window


class Predictor:
    """Base class. Subclasses set `Config` and implement `_predict`."""
    Config = PredictorConfig
    scores_anomalies = False  # True for kinds whose policy reads anomaly scores
    reads_logs = False  # True for kinds fed log lines (add_log_lines) rather than series

    def __init__(self, config: PredictorConfig):
        self.config = config
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

    def model_reason(self, prediction: Prediction) -> str:
        """Why, in the model's own words, when no driver explains a prediction; empty for
        the default reason (how the watched series moves). Kinds may say more."""
        return ""

    def derived_points(self, predictions: list[Prediction]) -> list[Point]:
        """Series this kind makes from its predictions for other predictors to read. The
        engine adds them after every predictor has evaluated, so the order of predictors
        in the config does not matter."""
        return []

    def source_labels(self, prediction_key: tuple) -> dict:
        """The labels of the series a prediction was made from."""
        return self._source_labels.get(prediction_key, {})

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
