"""Shadow mode and the live scorecard, beside the engine.

A challenger is a second instance of a predictor, built from the challenger bundle's
config and models, evaluated on the same store after the engine's own round. It only
reads: it adds no points to the store, joins no incident, writes no annotation and tunes
no threshold (its own policy takes the champion's tuned threshold, read only). Its
predictions are published with alias="challenger"; the generated rules select
alias!="challenger", so it alerts nothing.

`ModelWatch` scores champion and challenger as the truth arrives (runtime.scorecard),
feeds the champion's drift watch (lifecycle.drift), and publishes both
(publish.models: foresight_model_score, foresight_model_drift). Engineers' verdicts reach
it as the feedback loop's `feedback` events (feedback.events_log), which it takes off the
events logger into a queue: the loop runs on its own thread.
"""
import logging
import queue

from foresight.feedback.episodes import episode_id
from foresight.feedback.events_log import EVENTS_LOGGER
from foresight.lifecycle.bundles import BundleError
from foresight.lifecycle.drift import DriftSettings
from foresight.policy import Policy
from foresight.predictors import build_predictor
from foresight.publish.models import ModelCollector

from .scorecard import CHALLENGER, CHAMPION, Scorecard

log = logging.getLogger(__name__)

ALARMS_PER_DAY = 1.0  # the alert rate an anomaly model is expected to keep, without a trained one


def expected_alarms(config, per_day: float = ALARMS_PER_DAY) -> float:
    """Alerts per evaluation a predictor is expected to raise."""
    return per_day * config.evaluate_every / 86400.0


def check_fits(engine, config, where: str):
    """Raises BundleError when a predictor of `config` cannot run on this engine's store:
    another kind than the configured one, other series, or raw points the store does not keep."""
    names = {p.config.name: p for p in engine.predictors}
    running = names.get(config.name)
    if running is None:
        raise BundleError(f"{where}: predictor {config.name!r} is not configured here")
    fresh = build_predictor(config)
    if type(fresh) is not type(running):
        raise BundleError(f"{where}: predictor {config.name!r} is of kind {config.kind!r}, configured here as "
                          f"{running.config.kind!r}")
    if sorted(map(str, fresh.selectors())) != sorted(map(str, running.selectors())):
        raise BundleError(f"{where}: predictor {config.name!r} was trained with another model config that reads "
                          f"other series ({', '.join(map(str, fresh.selectors()))}); restart with that config")
    if fresh.raw_history() > engine.store.settings.raw_span:
        raise BundleError(f"{where}: predictor {config.name!r} was trained with another model config that needs "
                          f"{fresh.raw_history():.0f}s of raw points; this sidecar keeps "
                          f"{engine.store.settings.raw_span:.0f}s: restart with that config")
    return fresh


class Shadow:
    """The challengers running beside their champions, by predictor name."""

    def __init__(self, engine):
        self.engine = engine
        self.running: dict = {}  # predictor -> (version, predictor instance, Policy)
        self.withdrawn: list = []  # prediction keys the last evaluate() could not renew

    def start(self, number: int, bundle):
        """Run the bundle's models as the challenger of its predictor. Raises BundleError."""
        config = bundle.typed_config
        fresh = check_fits(self.engine, config, f"bundle {bundle.path}")
        for section, _, key, value in bundle.section("shared", "target"):
            try:
                if section == "shared":
                    fresh.import_shared(value)
                else:
                    fresh.import_target(key, value)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BundleError(f"bundle {bundle.path}: its {section} row {key!r} does not fit predictor "
                                  f"{config.name!r}: {type(exc).__name__}: {exc}") from None
        self.running[config.name] = (number, fresh, Policy(config.policy, scores=fresh.scores_anomalies))

    def stop(self, name: str) -> bool:
        return self.running.pop(name, None) is not None

    def evaluate(self) -> list:
        results, self.withdrawn = [], []
        for name, (_, predictor, policy) in self.running.items():
            champion = self.engine.policies.get(name)
            if champion is not None and champion.config == policy.config and policy.threshold != champion.threshold:
                policy.set_threshold(champion.threshold)  # the tuned threshold, read only
            try:
                predictions = predictor.evaluate(self.engine.store)
                predictor.refit_pending()  # a challenger is judged as the champion runs: refits after predictions
            except Exception as exc:
                predictor.record_error(exc, "evaluate (challenger)")
                continue
            for p in predictions:
                try:
                    p.risk_level = policy.decide_prediction(p)
                except Exception as exc:
                    predictor.record_error(exc, f"the challenger's policy of target {p.labels}")
                    continue
                results.append(p)
            for key in predictor.withdrawn:
                policy.levels.pop(key, None)
                self.withdrawn.append(key)
        return results


class VerdictTap(logging.Handler):
    """Takes the feedback loop's `feedback` events (a verdict on an episode) into a queue."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.verdicts: queue.Queue = queue.Queue()

    def emit(self, record):
        event = getattr(record, "foresight_event", None)
        if event and event.get("event") == "feedback":
            self.verdicts.put((event.get("predictor"), event.get("labels") or {}, event.get("episode"),
                               event.get("verdict")))


class ModelWatch:
    """The scorecard, the drift watch and the challengers of one sidecar, and their metrics."""

    def __init__(self, engine, metrics_registry, drift: DriftSettings | None = None, publish_drift: bool = True):
        self.engine = engine
        # Drift says "retrain this champion": without a registry there is none, and nothing
        # retrains it, so a sidecar without one publishes foresight_model_drift held at 0.
        self.publish_drift = publish_drift
        self.shadow = Shadow(engine)
        self.scorecard = Scorecard(drift, {p.config.name: expected_alarms(p.config) for p in engine.predictors},
                                   watches=engine.drift)
        self.collector = ModelCollector()
        metrics_registry.register(self.collector)
        self.tap = VerdictTap()
        events = logging.getLogger(EVENTS_LOGGER)
        if not events.isEnabledFor(logging.INFO):
            events.setLevel(logging.INFO)  # the verdicts are INFO events
        events.addHandler(self.tap)

    def close(self):
        logging.getLogger(EVENTS_LOGGER).removeHandler(self.tap)

    def _verdicts(self):
        """Each verdict to the scorecard, on the champion's episode whose id it names."""
        while True:
            try:
                predictor, labels, episode, verdict = self.tap.verdicts.get_nowait()
            except queue.Empty:
                return
            key = tuple(sorted(labels.items()))
            record = self.scorecard.records.get((predictor, CHAMPION))
            spans = record.spans.get(key, []) if record is not None else []
            found = [(s, e) for s, e in spans if episode_id(predictor, labels, s) == episode]
            start, end = found[-1] if found else (None, None)
            self.scorecard.verdict(predictor, key, start, end, verdict)

    def started(self, name: str, number: int):
        log.info("predictor %s: version %d runs in shadow as the challenger", name, number)
        self.scorecard.reset(name)

    def stopped(self, name: str):
        log.info("predictor %s: its challenger no longer runs in shadow", name)
        self.scorecard.reset(name)

    def swapped(self, name: str):
        """A new champion: its drift watch and the comparison start again."""
        self.scorecard.reset(name, drift=True)

    def observe(self, predictions, withdrawn, now: float, publisher) -> list:
        """After the engine's round: score the champion's predictions, run and score the
        challengers, publish. Returns the challengers' predictions."""
        self.scorecard.observe(predictions, CHAMPION)
        self.scorecard.withdraw(withdrawn, CHAMPION)
        self._verdicts()
        challengers = self.shadow.evaluate() if self.shadow.running else []
        self.scorecard.observe(challengers, CHALLENGER)
        self.scorecard.withdraw(self.shadow.withdrawn, CHALLENGER)
        publisher.update_challengers(challengers, self.shadow.withdrawn, running=set(self.shadow.running), now=now)
        versions = [(name, CHALLENGER, "version", float(number)) for name, (number, _, _) in self.shadow.running.items()]
        flags = self.scorecard.drift_flags(now)
        if not self.publish_drift:
            flags = [(name, labels, signal, 0) for name, labels, signal, _ in flags]
        self.collector.update(self.scorecard.scores(now) + versions, flags)
        return challengers


__all__ = ["ModelWatch", "Shadow", "check_fits", "expected_alarms"]
