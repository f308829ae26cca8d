"""The predictor template: plumbing here, the model in each plugin's `_predict`."""
import logging
import math

import numpy as np

from foresight.config import PredictorConfig
from foresight.contracts.points import Point
from foresight.contracts.predictions import Prediction
from foresight.store import SeriesStore, Window

from .targets import TargetIndex

log = logging.getLogger(__name__)

# A series that has sent nothing while the stream's clock moved on this far went away (a pod
# deleted, a container replaced, a host down): its prediction is withdrawn, so an alert on
# it resolves instead of firing until the store forgets the series. Three times
# Prometheus' five-minute lookback, so slow exporters (1-5 min intervals) are not gone.
GONE_AFTER = 900.0
# ... or for this many of its own sampling intervals, if that is longer: an hourly textfile
# cron or a slow cloud exporter is quiet between its samples, not gone.
GONE_INTERVALS = 3


def gone(store: SeriesStore, key: tuple) -> bool:
    """Whether a series quiet for GONE_AFTER has also missed GONE_INTERVALS of its own updates
    (the median spacing of its last points, on its own clock)."""
    window = store.windows.get(key)
    times = window.times[-9:] if window is not None else ()
    if len(times) < 2:
        return True
    return store.last_accepted(key) < store.watermark - GONE_INTERVALS * float(np.median(np.diff(times)))


class Predictor:
    """Base class. Subclasses set `Config` and implement `_predict`."""
    Config = PredictorConfig
    scores_anomalies = False  # True for kinds whose policy reads anomaly scores
    reads_logs = False  # True for kinds fed log lines (add_log_lines) rather than series

    def __init__(self, config: PredictorConfig):
        self.config = config
        self.targets = TargetIndex(config.name, config.drop_labels, config.max_targets)
        self._source_labels: dict[tuple, dict] = {}  # prediction key -> its source series' labels
        self._next_due: dict[tuple, float] = {}
        self._first_seen: dict[tuple, float] = {}
        self._predicted: set[tuple] = set()  # series keys with a published prediction
        self._targets: dict = {}  # the kind's model state per target (its sorted series labels), if it keeps one
        self._owner: dict[tuple, tuple] = {}  # prediction key -> the series key that published it last
        self.withdrawn: list[tuple] = []  # prediction keys that could not be renewed in the last evaluate()
        self.errors = 0  # unexpected exceptions, in this predictor's code or its targets' models
        self._errors_logged: set[str] = set()  # exception types already logged with their traceback

    def record_error(self, exc: BaseException, where: str):
        """Count an unexpected exception; log its traceback once per exception type."""
        self.errors += 1
        kind = type(exc).__name__
        if kind in self._errors_logged:
            log.debug("predictor %s: %s raised %s: %s", self.config.name, where, kind, exc)
            return
        self._errors_logged.add(kind)
        log.error("predictor %s: %s raised %s (counted in foresight_predictor_errors_total; the other targets "
                  "and predictors go on; further %s errors of this predictor are not logged)",
                  self.config.name, where, kind, kind, exc_info=exc)

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

    def source_series(self, prediction_key: tuple) -> tuple | None:
        """The store key of the series a prediction was made from (its target's own window)."""
        return self._owner.get(prediction_key)

    def predictions_of(self, series_keys: set) -> list[tuple]:
        """The prediction keys these series published last (for a handover's withdrawal)."""
        return [identity for identity, owner in self._owner.items() if owner in series_keys]

    def raw_history(self) -> float:
        """How much recent history this kind reads point by point (the store keeps it raw);
        older points may come as means (store.Window). Kinds that fit raw points say more."""
        return 0.0

    def evaluate(self, store: SeriesStore) -> list[Prediction]:
        """Evaluate each target whose data has moved `evaluate_every` past its last run.

        Each series is its own target (labels minus `drop_labels`), up to `max_targets`.
        A target that had a prediction and now cannot get one (too few points since a
        reset, its limit gone, its model raised), or whose series went away (GONE_AFTER),
        is listed in `withdrawn`: a stale forecast is worse than none.
        """
        results, self.withdrawn = [], []
        for key, window in store.targets_matching(self.config.series):
            now = window.last_time
            if now is None or now < self._next_due.get(key, -math.inf):
                continue
            identity = self.targets.admit(key, now)
            if identity is None:
                continue
            self._next_due[key] = now + self.config.evaluate_every
            first_seen = self._first_seen.get(key)
            if first_seen is None:
                first_seen = self._first_seen[key] = float(window.times[0])
            source = dict(key[1])
            try:
                prediction = self._predict(source, window, store, now)
            except Exception as exc:  # one target's failure must not stop the others
                self.record_error(exc, f"the model of target {dict(identity[1])}")
                prediction = None
            if prediction is not None:
                prediction.identify(identity)
                self._source_labels[identity] = source
                self._owner[identity] = key
                prediction.history_seconds = now - first_seen
                results.append(prediction)
                self._predicted.add(key)
            elif key in self._predicted:
                self._withdraw(key, identity)
        gone_before = store.watermark - GONE_AFTER
        for identity, key in [(i, k) for i, k in self._owner.items() if store.last_accepted(k) < gone_before]:
            if gone(store, key):
                self._withdraw(key, identity)
        return results

    def _withdraw(self, key: tuple, identity: tuple):
        self._predicted.discard(key)
        if self._owner.get(identity) == key:  # else another series of the target renewed it
            del self._owner[identity]
            self.withdrawn.append(identity)

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        raise NotImplementedError

    def refit_pending(self):
        """Model upkeep the last evaluate() left for after its predictions are published
        (scheduled refits); kinds without any keep this no-op."""

    def forget(self, series_keys: list):
        """Drop the bookkeeping and model state of series the store evicted (a series that
        comes back starts afresh); a target left without series gives its `max_targets` slot up."""
        gone = set(series_keys)
        for key in gone:
            self._targets.pop(tuple(sorted(key[1])), None)
            self._next_due.pop(key, None)
            self._first_seen.pop(key, None)
            self._predicted.discard(key)
        for identity in [i for i, owner in self._owner.items() if owner in gone]:
            del self._owner[identity]
            self._source_labels.pop(identity, None)
        self.targets.forget(gone)

    # -- what a restart keeps (foresight.lifecycle serialises these; plain objects only) --
    def history_needed(self) -> float:
        """Event time of history this predictor needs to say all it can: its policy's
        `min_history`, and the daily profile's history for kinds that fit one."""
        return max(self.config.policy.min_history, getattr(self.config, "season_history", 0.0))

    def export_targets(self) -> dict:
        """Per target (series key): its scheduling and the kind's model state."""
        out = {}
        for key, first_seen in self._first_seen.items():
            identity = self.targets.identity(dict(key[1]))
            out[key] = {"first_seen": first_seen, "next_due": self._next_due.get(key, -math.inf),
                        "predicted": key in self._predicted, "owner": self._owner.get(identity) == key,
                        "model": self._targets.get(tuple(sorted(key[1])))}
        return out

    def import_target(self, key: tuple, state: dict):
        """Take one target's state back, as `export_targets` gave it."""
        identity = self.targets.identity(dict(key[1]))
        self._first_seen[key], self._next_due[key] = float(state["first_seen"]), float(state["next_due"])
        if state["predicted"]:
            self._predicted.add(key)
            self._source_labels[identity] = dict(key[1])
        if state["owner"]:
            self._owner[identity] = key
        if state["model"] is not None:
            self._targets[tuple(sorted(key[1]))] = state["model"]

    def export_shared(self) -> dict:
        """What this predictor keeps across its targets: which series are which target."""
        return {"targets": self.targets}

    def import_shared(self, state: dict):
        if not isinstance(state.get("targets"), type(self.targets)):
            raise ValueError(f"predictor {self.config.name}: the shared state holds no target index")
        self.targets = state["targets"]
