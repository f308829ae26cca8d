"""Exposition of the model lifecycle's live results: the scorecard of champion and
challenger (foresight_model_score) and each champion target's drift flags
(foresight_model_drift). The runtime swaps snapshots in; a scrape only reads them."""
from prometheus_client.core import GaugeMetricFamily

from foresight.contracts import metric_names as names


class ModelCollector:
    def __init__(self):
        self._scores: list = []  # (predictor, alias, score, value)
        self._drift: list = []  # (predictor, labels tuple, signal, 0 or 1)

    def update(self, scores: list, drift: list):
        self._scores, self._drift = list(scores), list(drift)  # swapped whole: a scrape needs no lock

    def collect(self):
        scores = GaugeMetricFamily(names.MODEL_SCORE, "Live scorecard of each predictor's champion and, in shadow, "
                                   "its challenger, scored as the truth arrives (docs/lifecycle.md).",
                                   labels=["predictor", "alias", "score"])
        for predictor, alias, score, value in self._scores:
            scores.add_metric([predictor, alias, score], value)
        drift = GaugeMetricFamily(names.MODEL_DRIFT, "1 while a drift detection on the champion's live track record "
                                  "holds (Page-Hinkley on scaled forecast error, p10-p90 coverage or alarm rate), "
                                  "else 0.")
        for predictor, labels, signal, flag in self._drift:
            drift.add_sample(names.MODEL_DRIFT, {"predictor": predictor, **dict(labels), "signal": signal}, flag)
        yield scores
        yield drift


__all__ = ["ModelCollector"]
