"""The prediction engine: one data point's path from a decoded message to a risk level.

sources (decode) -> store (windows) -> predictors (forecast, score) -> policy (severity)
-> explain (why) and actions (what to do) -> incidents. It never reads the wall clock, so
history replays at any speed. The live service feeds it from Kafka; backtests from files.
"""
import logging

from foresight.config import Config
from foresight.contracts.points import Point
from foresight.contracts.predictions import Prediction
from foresight.contracts.severities import SEVERITY_NAMES
from foresight.explain import Explainer
from foresight.policy import IncidentTracker, Policy, render_action
from foresight.predictors import build_predictor
from foresight.sources.otlp import DECODERS
from foresight.store import SeriesStore

log = logging.getLogger(__name__)


def describe(prediction: Prediction) -> str:
    """The figures behind a risk change, for the log."""
    if prediction.anomaly_score is not None:
        return f"anomaly_score={prediction.anomaly_score:.3f} why={'; '.join(prediction.drivers) or '-'}"
    return (f"ttf_p50={prediction.ttf.get(0.5, float('nan')):.0f}s observed={prediction.observed:g} "
            f"limit={prediction.limit:g}")


class Engine:
    def __init__(self, config: Config, max_points: int = 5000, max_age: float = 7 * 86400):
        self.config = config
        self.predictors = [build_predictor(c) for c in config.predictors]
        self.policies = {p.config.name: Policy(p.config.policy, scores=p.scores_anomalies) for p in self.predictors}
        self.explainers = {p.config.name: Explainer(p) for p in self.predictors}
        self.selectors = [s for p in self.predictors for s in p.selectors()]
        self.log_readers = [p for p in self.predictors if p.reads_logs]
        self.incidents = IncidentTracker()  # the service graph from traces, and incidents
        self.store = SeriesStore(self._wanted, max_points=max_points, max_age=max_age)
        self.accepted = {"metrics": 0, "logs": 0, "traces": 0}
        self.withdrawn: list[tuple] = []  # prediction keys withdrawn by the last evaluate()
        self.decode_bad = {}

    def _wanted(self, metric: str, labels: dict) -> bool:
        return any(s.matches(metric, labels) for s in self.selectors)

    def ingest(self, signal: str, payload: bytes) -> int:
        """Decode one OTLP message and add its points. Bad input is counted, never raised."""
        result = DECODERS[signal](payload)
        for reason, n in result.bad.items():
            self.decode_bad[reason] = self.decode_bad.get(reason, 0) + n
        if result.log_lines:
            for predictor in self.log_readers:
                predictor.add_log_lines(result.log_lines)
        if result.trace_request is not None:
            self.incidents.add_traces(result.trace_request)
        return self.add_points(signal, result.points)

    def add_points(self, signal: str, points: list[Point]) -> int:
        accepted = sum(1 for p in points if self.store.add(p))
        self.accepted[signal] += accepted
        return accepted

    def bad_input(self) -> dict:
        counts = dict(self.store.bad)
        predictor_bad = [item for p in self.predictors for item in p.bad_input().items()]
        for reason, n in list(self.decode_bad.items()) + list(self.incidents.bad.items()) + predictor_bad:
            counts[reason] = counts.get(reason, 0) + n
        return counts

    def evaluate(self) -> list[Prediction]:
        """Run every predictor whose targets are due, and set each result's risk level.

        Predictions that could not be renewed are listed in `self.withdrawn`."""
        results, self.withdrawn, derived = [], [], []
        for predictor in self.predictors:
            policy = self.policies[predictor.config.name]
            predictions = predictor.evaluate(self.store)
            for prediction in predictions:
                before = policy.levels.get(prediction.key, 0)
                prediction.risk_level = policy.decide_prediction(prediction)
                if prediction.risk_level:  # alert-worthy: say why, and what to do
                    self.explainers[predictor.config.name].explain(prediction, self.store)
                    prediction.action = render_action(predictor.config, prediction)
                if prediction.risk_level != before:
                    log.info("risk change predictor=%s labels=%s level=%s->%s %s",
                             prediction.predictor, prediction.labels, SEVERITY_NAMES[before] or "none",
                             SEVERITY_NAMES[prediction.risk_level] or "none", describe(prediction))
                results.append(prediction)
            derived += predictor.derived_points(predictions)
            for key in predictor.withdrawn:
                if policy.levels.pop(key, 0):
                    log.info("prediction withdrawn predictor=%s labels=%s (too little data since a reset, or no limit)",
                             key[0], dict(key[1]))
                self.withdrawn.append(key)
        for point in derived:  # after every predictor ran: the config's order does not matter
            self.store.add(point)
        self.incidents.assign(results, self.withdrawn)
        return results
