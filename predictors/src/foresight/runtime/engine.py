"""The prediction engine: one data point's path from a decoded message to a risk level.

sources (decode) -> store (windows) -> predictors (forecast, score) -> policy (severity)
-> explain (why) and actions (what to do) -> incidents. It never reads the wall clock, so
history replays at any speed. The live service feeds it from Kafka; backtests from files.
"""
import dataclasses
import logging

from foresight.config import Config
from foresight.contracts.points import Point
from foresight.contracts.predictions import Prediction
from foresight.contracts.severities import SEVERITY_NAMES
from foresight.explain import Explainer
from foresight.policy import IncidentTracker, Policy, render_action
from foresight.predictors import build_predictor
from foresight.sources.otlp import DECODERS, decode_metrics
from foresight.store import SeriesStore, StoreSettings

from . import engine_state

log = logging.getLogger(__name__)


def describe(prediction: Prediction) -> str:
    """The figures behind a risk change, for the log."""
    if prediction.anomaly_score is not None:
        return f"anomaly_score={prediction.anomaly_score:.3f} why={'; '.join(prediction.drivers) or '-'}"
    return (f"ttf_p50={prediction.ttf.get(0.5, float('nan')):.0f}s observed={prediction.observed:g} "
            f"limit={prediction.limit:g}")


class Engine:
    def __init__(self, config: Config, store: StoreSettings | None = None):
        self.config = config
        self.predictors = [build_predictor(c) for c in config.predictors]
        self.policies = {p.config.name: Policy(p.config.policy, scores=p.scores_anomalies) for p in self.predictors}
        self.explainers = {p.config.name: Explainer(p) for p in self.predictors}
        self.selectors = [s for p in self.predictors for s in p.selectors()]
        self.metric_names = frozenset(s.metric for s in self.selectors)  # the only metrics decoded
        self._selectors_of: dict[str, list] = {}  # metric -> its selectors: a new series asks only those
        for selector in self.selectors:
            self._selectors_of.setdefault(selector.metric, []).append(selector)
        self.log_readers = [p for p in self.predictors if p.reads_logs]
        self.incidents = IncidentTracker()  # the service graph from traces, and incidents
        store = store or StoreSettings()
        # Points stay raw for as long as any predictor fits them raw (its lookback and resets).
        raw_span = max([store.raw_span] + [p.raw_history() for p in self.predictors])
        self.store = SeriesStore(self._wanted, dataclasses.replace(store, raw_span=raw_span))
        self.accepted = {"metrics": 0, "logs": 0, "traces": 0}
        self.withdrawn: list[tuple] = []  # prediction keys withdrawn by the last evaluate()
        self.decode_bad = {}
        self.drift: dict = {}  # predictor -> its champion's lifecycle.drift.DriftWatch (fed by runtime.shadow)
        self.log_origin: dict[str, str] = {}  # service -> Kafka partition its log lines came from
        self.peers_at_risk: list = []  # other replicas' targets at risk, for incidents (runtime.peers)

    def _wanted(self, metric: str, labels: dict) -> bool:
        return any(s.matches(metric, labels) for s in self._selectors_of.get(metric, ()))

    def ingest(self, signal: str, payload: bytes) -> int:
        """Decode one OTLP message and add its points. Bad input is counted, never raised."""
        return self.take(signal, self.decode(signal, payload))

    def decode(self, signal: str, payload: bytes, count_bad: bool = True):
        """One OTLP message decoded, not yet added (`take` adds it); bad input is counted
        (once: a message decoded again passes count_bad=False)."""
        result = decode_metrics(payload, self.metric_names) if signal == "metrics" else DECODERS[signal](payload)
        for reason, n in result.bad.items() if count_bad else ():
            self.decode_bad[reason] = self.decode_bad.get(reason, 0) + n
        return result

    def take(self, signal: str, result, origin: str | None = None) -> int:
        """Add a decoded message: its points to the store, its log lines and spans to the
        predictors and the incident tracker. `origin`: the Kafka partition it came from."""
        if result.log_lines:
            if origin is not None:  # which partition each service's logs come from (handover)
                for service in {line.service for line in result.log_lines}:
                    self.log_origin[service] = origin
            for predictor in self.log_readers:
                try:  # lines this predictor cannot take must not stop the others' input
                    predictor.add_log_lines(result.log_lines)
                except Exception as exc:
                    predictor.record_error(exc, "add_log_lines")
        if result.trace_request is not None:
            try:  # spans the service graph cannot read must not stop the message's points
                self.incidents.add_traces(result.trace_request)
            except Exception as exc:
                log.warning("spans skipped for the service graph: %s: %s", type(exc).__name__, exc)
                self.decode_bad["unreadable_spans"] = self.decode_bad.get("unreadable_spans", 0) + 1
        return self.add_points(signal, result.points, origin)

    def add_points(self, signal: str, points: list[Point], origin: str | None = None) -> int:
        accepted = self.store.add_points(points, stream=signal, origin=origin)
        self.accepted[signal] += accepted
        return accepted

    def bad_input(self) -> dict:
        counts = dict(self.store.bad)
        predictor_bad = [item for p in self.predictors for item in p.bad_input().items()]
        for reason, n in list(self.decode_bad.items()) + list(self.incidents.bad.items()) + predictor_bad:
            counts[reason] = counts.get(reason, 0) + n
        return counts

    def evaluate(self) -> list[Prediction]:
        """predict(), then refit_pending(): one whole loop, for callers that publish nothing
        in between (backtests, training, warm-up). Same results as the live service's order."""
        results = self.predict()
        self.refit_pending()
        return results

    def refit_pending(self):
        """The scheduled refits the last predict() left (each predictor's refit_pending), on the
        data it saw: the live service runs them once that loop's predictions are published."""
        for predictor in self.predictors:
            try:
                predictor.refit_pending()
            except Exception as exc:
                predictor.record_error(exc, "refit_pending")

    def predict(self) -> list[Prediction]:
        """Run every predictor whose targets are due, and set each result's risk level.

        Predictions that could not be renewed are listed in `self.withdrawn`. Scheduled refits
        wait for refit_pending()."""
        results, self.withdrawn, derived = [], [], []
        self._forget(self.store.sweep())
        for predictor in self.predictors:
            policy = self.policies[predictor.config.name]
            try:  # an unexpected exception stops this predictor's round, not the others'
                predictions = predictor.evaluate(self.store)
            except Exception as exc:
                predictor.record_error(exc, "evaluate")
                continue
            for prediction in predictions:
                try:
                    self._decide(predictor, policy, prediction)
                except Exception as exc:
                    predictor.record_error(exc, f"the policy of target {prediction.labels}")
                    predictor.withdrawn.append(prediction.key)
                    continue
                results.append(prediction)
            try:
                derived += predictor.derived_points(predictions)
            except Exception as exc:
                predictor.record_error(exc, "derived_points")
            for key in predictor.withdrawn:
                if policy.levels.pop(key, 0):
                    log.info("prediction withdrawn predictor=%s labels=%s (too little data since a reset, or no limit)",
                             key[0], dict(key[1]))
                self.withdrawn.append(key)
        for point in derived:  # after every predictor ran: the config's order does not matter
            self.store.add_derived(point)
        self.incidents.assign(results, self.withdrawn, peers=self.peers_at_risk)
        return results

    def forget_series(self, series_keys: list):
        """Series gone from the store (evicted, or handed to another replica)."""
        self._forget(series_keys)

    def _forget(self, series_keys: list):
        """Series the store evicted (idle past the TTL, or to make room): each predictor
        drops what it kept for them."""
        if not series_keys:
            return
        for predictor in self.predictors:
            try:
                predictor.forget(series_keys)
            except Exception as exc:
                predictor.record_error(exc, "forget")

    def _decide(self, predictor, policy, prediction: Prediction):
        """The risk level; for an alert-worthy prediction also why and what to do."""
        before = policy.levels.get(prediction.key, 0)
        prediction.risk_level = policy.decide_prediction(prediction)
        if prediction.risk_level:
            try:
                self.explainers[predictor.config.name].explain(prediction, self.store)
                prediction.action = render_action(predictor.config, prediction)
            except Exception as exc:  # the alert stands without its why; the rules fall back to the trend
                predictor.record_error(exc, f"the explanation of target {prediction.labels}")
        if prediction.risk_level != before:
            log.info("risk change predictor=%s labels=%s level=%s->%s %s",
                     prediction.predictor, prediction.labels, SEVERITY_NAMES[before] or "none",
                     SEVERITY_NAMES[prediction.risk_level] or "none", describe(prediction))

    def errors(self) -> dict:
        """Unexpected exceptions so far, by predictor name."""
        return {p.config.name: p.errors for p in self.predictors}

    def targets_dropped(self) -> dict:
        """Series refused a target beyond `max_targets`, by predictor name."""
        return {p.config.name: p.targets.dropped for p in self.predictors}

    def export_state(self) -> list:
        """Everything a restart should keep, as rows per series and per target (engine_state),
        and each champion's drift watch (section `drift`)."""
        return engine_state.export_rows(self) + [("drift", name, (), watch) for name, watch in self.drift.items()]

    def import_state(self, rows) -> "engine_state.ImportReport":
        """Take exported rows back, before any data arrives; rows that do not fit are counted."""
        rows = list(rows)
        names = {p.config.name for p in self.predictors}
        self.drift.update({name: value for section, name, _, value in rows if section == "drift" and name in names})
        return engine_state.import_rows(self, [row for row in rows if row[0] != "drift"])
