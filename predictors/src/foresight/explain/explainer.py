"""The "why" of one predictor's alert-worthy predictions, in plain words.

The configured drivers are ranked by lagged correlation with the target (and by the
multivariate model's attribution, where the kind has one). A driver that did not move (no
change point, no shift beyond its noise) is never given as the cause, whatever its share
of a multivariate anomaly: the model may weigh a series that held still. Without one that
moved, the model's own reason is given, with the drivers that held steady (a steady
request rate says the growth is not load).
"""
from foresight.contracts.predictions import Prediction
from foresight.contracts.units import format_quantity
from foresight.predictors.anomaly.features import attributions_by_series
from foresight.store import SeriesStore, same_target

from .drivers import DriverSettings, rank_drivers

EXPLAIN_EVERY = 300.0  # seconds of event time between recomputing a target's drivers
EXPLAIN_WINDOW = 2 * 3600.0  # how much history the lagged correlation looks at
MAX_DRIVERS = 3


class Explainer:
    def __init__(self, predictor, settings: DriverSettings | None = None):
        self.predictor = predictor
        self.config = predictor.config
        self.settings = settings or DriverSettings()
        self._explained: dict[tuple, tuple] = {}  # key -> (when, driver sentences, steady driver names)

    def explain(self, prediction: Prediction, store: SeriesStore):
        """Fill `prediction.drivers`, strongest first (kinds that explain themselves, such as
        the logs kind, have filled them already)."""
        if prediction.drivers:
            return
        steady = self._rank_drivers(prediction, store) if self.config.drivers else []
        if not prediction.drivers:
            reason = self.predictor.model_reason(prediction) or trend_reason(self.config, prediction)
            if reason and steady:
                reason += f"; {', '.join(steady)} steady"
            prediction.drivers = [reason] if reason else []

    def _rank_drivers(self, prediction: Prediction, store: SeriesStore) -> list:
        """Set the drivers that moved, strongest first; returns the names of those that held steady."""
        cached = self._explained.get(prediction.key)
        if cached and prediction.timestamp - cached[0] < EXPLAIN_EVERY:
            prediction.drivers = cached[1]
            return cached[2]
        target_labels = self.predictor.source_labels(prediction.key)
        # The target's own series (one mountpoint, one pool), not another of its service's.
        target = store.windows.get(self.predictor.source_series(prediction.key))
        if target is None or len(target) < 3:
            return []
        since = prediction.timestamp - EXPLAIN_WINDOW
        candidates = {}
        for name, selector in self.config.drivers.items():
            window = same_target(target_labels, store.matching(selector))
            if window is not None and len(window) >= 3:
                candidates[name] = window.arrays(since)
        target_name = self.config.resource or self.config.series.metric
        shares = attributions_by_series(prediction.attributions) if prediction.attributions else None
        ranked = rank_drivers(target_name, target.arrays(since), candidates, prediction.timestamp, attributions=shares,
                              settings=self.settings)
        # A driver that did not change cannot explain a change.
        prediction.drivers = [d.text for d in ranked if d.notable and d.moved][:MAX_DRIVERS]
        steady = [d.name for d in ranked if d.significant and not d.moved]
        self._explained[prediction.key] = (prediction.timestamp, prediction.drivers, steady)
        return steady


def trend_reason(config, prediction: Prediction) -> str:
    """How the watched series moves, e.g. 'memory +172 MiB per hour, at 815 MiB of 2 GiB'."""
    name, unit = config.resource or config.series.metric, config.unit
    if prediction.trend_per_second is None or prediction.observed is None:
        return ""
    per_hour = prediction.trend_per_second * 3600
    sign = "+" if per_hour >= 0 else "-"
    text = f"{name} {sign}{format_quantity(abs(per_hour), unit)} per hour, at {format_quantity(prediction.observed, unit)}"
    draining = getattr(config, "direction", "up") == "down"
    if prediction.limit is not None:
        # A drain runs down to a floor ("at 44.2 GiB, floor 0 B"); a fill up to a limit.
        text += f"{', floor' if draining else ' of'} {format_quantity(prediction.limit, unit)}"
    if prediction.burst_height > 0:  # a burst's top reaches the limit first (exhaustion/bursts.py)
        text += (f", bursts of about {format_quantity(prediction.burst_height, unit)} "
                 f"{'below' if draining else 'above'} the trend")
    return text
