"""The feedback loop: predictions out to Grafana as annotations, verdicts back in as thresholds.

The service calls `observe` after every engine evaluation and `poll` every `poll_every`
seconds of event time, both on a worker thread (runtime.background), so Grafana's pace
never holds up the Kafka consumer. Neither raises on Grafana trouble: failures are
counted, logged, and retried at the next poll.

Without a Grafana URL (`FeedbackLoop.events_only()`), the loop only writes the structured
event log (predictions and alert decisions): no annotations, no tuning, no state file.
"""
import logging
import math

from foresight.config import PolicyConfig

from . import annotations as ann
from .annotation_queue import AnnotationQueue
from .episodes import Episode, episode_id, policy_probability, target_key
from .events_log import emit
from .grafana import AnnotationClient, GrafanaRejected, GrafanaUnavailable, connect
from .metrics import FeedbackMetrics
from .settings import FeedbackSettings
from .state import load_state, save_state
from .tuning import tuned_threshold
from .verdicts import apply_verdict, judged_peaks

log = logging.getLogger(__name__)


class FeedbackLoop:
    def __init__(self, settings: FeedbackSettings, base_thresholds: dict[str, float], registry,
                 client=None, policies: dict[str, PolicyConfig] | None = None):
        """`client`: an AnnotationClient, a grafana_client.GrafanaApi, or None to connect with
        `settings` (reads the token; raises ValueError naming the setting when it is missing).
        `policies` (predictor -> PolicyConfig) lets peaks use exactly the policy's windows.
        The tuned thresholds are published by the sidecar's prediction collector, from the
        engine's policies, as `foresight_policy_threshold`."""
        self.settings = settings
        self.base = dict(base_thresholds)
        self.policies = dict(policies or {})
        if not settings.grafana_url:
            self.client = None  # events only
        else:
            if client is None:
                client = connect(settings)
            self.client = client if isinstance(client, AnnotationClient) else AnnotationClient(
                client, settings.dashboard_uid)
        self.metrics = FeedbackMetrics(registry, predictors=sorted(self.base))
        self.history, self.processed, problem = load_state(settings.state_path) if settings.state_path else ({}, {}, None)
        if problem:
            log.error(problem)
            emit("feedback_state_error", logging.ERROR, problem=problem)
        self.open = {target_key(e.predictor, e.labels): e for e in self.history.values() if e.open}
        self.silenced: dict[str, Episode] = {}  # target -> would-be episode the tuned threshold holds back
        self.annotations = AnnotationQueue(self.client, settings, self.metrics)
        self.last_poll = -math.inf
        self._logged: dict[str, tuple[int, float]] = {}  # target -> (level, probability) last logged
        self._thresholds = {}
        self._dirty = False  # episodes changed since the state file was written
        self._retune(announce=False)
        if problem is None and any(self._thresholds[p] != self.base[p] for p in self.base):
            log.info("feedback state %s restored thresholds %s", settings.state_path, self._thresholds)

    @classmethod
    def events_only(cls, base_thresholds: dict[str, float], registry, policies=None) -> "FeedbackLoop":
        """A loop without Grafana: it logs every prediction change and alert decision."""
        return cls(FeedbackSettings(grafana_url="", state_path=""), base_thresholds, registry, policies=policies)

    # -- public ------------------------------------------------------------------------
    def thresholds(self) -> dict[str, float]:
        return dict(self._thresholds)

    def due(self, now: float) -> bool:
        return now >= self.last_poll + self.settings.poll_every

    def observe(self, predictions: list, now: float, withdrawn=(), write: bool = True) -> None:
        """Track episodes from the risk levels the engine just set, and write their annotations.

        `withdrawn`: prediction keys (predictor, labels tuple) the engine could not renew.
        `write=False` leaves the Grafana writes and the state file to `write`, so a worker
        thread that takes several evaluations at once writes once for all of them."""
        changed = False
        for prediction in predictions:
            changed |= self._observe_one(prediction)
        for predictor, labels in withdrawn:
            key = target_key(predictor, dict(labels))
            self.silenced.pop(key, None)
            episode = self.open.get(key)
            if episode is not None:
                emit("alert_decision", predictor=predictor, labels=dict(labels), level_from=episode.level,
                     level_to=0, reason="withdrawn", event_time=now, episode=episode.id)
                self._close(episode, now, "withdrawn")
                changed = True
        self._dirty |= changed
        if write:
            self.write(now)

    def write(self, now: float) -> None:
        """Write the queued annotations to Grafana, and the state file if episodes changed."""
        self.annotations.flush(now, self.history)
        if self._dirty:
            self._dirty = False
            self._save()

    def poll(self, now: float) -> dict[str, float]:
        """Retry pending annotations, read verdicts, retune. Returns {predictor: threshold} that changed."""
        self.last_poll = now
        if self.client is None:
            return {}
        self.annotations.flush(now, self.history, force=True)
        read_any = False
        for verdict_tag in ann.VERDICT_TAGS:
            try:
                found = self.client.find([ann.BASE_TAG, verdict_tag], int((now - self.settings.lookback) * 1000),
                                         int((now + self.settings.poll_every) * 1000), self.settings.poll_limit)
            except (GrafanaUnavailable, GrafanaRejected) as exc:
                self.annotations.grafana_error("read", exc)
                continue
            for annotation in found:
                read_any |= apply_verdict(annotation, self.history, self.processed, self.base, self.metrics)
        changed = self._retune(announce=True)
        self._prune(now)
        if read_any or changed:
            self._save()
        return changed

    # -- episodes ----------------------------------------------------------------------
    def _observe_one(self, p) -> bool:
        key = target_key(p.predictor, p.labels)
        probability = policy_probability(p, self.policies.get(p.predictor))
        episode = self.open.get(key)
        before = episode.level if episode else 0
        self._log_prediction(key, p, probability)
        if episode is None and p.risk_level < 1:
            self._watch_silenced(key, p, probability)
            return False
        if p.risk_level != before:
            emit("alert_decision", predictor=p.predictor, labels=p.labels, level_from=before, level_to=p.risk_level,
                 probability=round(probability, 4), threshold=self._thresholds.get(p.predictor),
                 event_time=p.timestamp,
                 episode=episode.id if episode else episode_id(p.predictor, p.labels, p.timestamp))
        if episode is None:
            episode = self._new_episode(p, probability)
            silenced = self.silenced.pop(key, None)
            if silenced is not None:  # the tuned threshold held this alert back until now
                episode.failures_at_start = silenced.failures_at_start
                episode.failure_seen = silenced.failure_seen
                episode.pre_failure_peak = silenced.pre_failure_peak
            self.history[episode.id] = episode
            self.open[key] = episode
            self._annotate(episode, "start", p.timestamp, ann.episode_tags(episode),
                          ann.start_text(episode, p, probability))
            return True
        self._track_failure(episode, p, probability)
        if p.risk_level >= 1:
            episode.level = p.risk_level
            episode.peak_level = max(episode.peak_level, p.risk_level)
            episode.peak_probability = max(episode.peak_probability, probability)
            return p.risk_level != before
        self._close(episode, p.timestamp, "failure" if episode.failure_seen else "receded")
        return True

    def _new_episode(self, p, probability: float) -> Episode:
        return Episode(id=episode_id(p.predictor, p.labels, p.timestamp), predictor=p.predictor,
                       labels=dict(p.labels), start=p.timestamp, start_level=p.risk_level, level=p.risk_level,
                       peak_level=p.risk_level, peak_probability=probability, failures_at_start=p.failures_seen,
                       pre_failure_peak=probability, scored=not p.probability and p.anomaly_score is not None)

    @staticmethod
    def _track_failure(episode: Episode, p, probability: float):
        """The failure, and the highest probability before it: what an alert in time needed."""
        if p.failures_seen > episode.failures_at_start:
            episode.failure_seen = True
        elif not episode.failure_seen:
            episode.pre_failure_peak = max(episode.pre_failure_peak, probability)

    def _watch_silenced(self, key: str, p, probability: float):
        """An alert the base threshold would have raised but the tuned one held back.

        If its target then fails, the tuning cost a real alert: the episode is kept as a
        missed failure, which counts as confirmed and pulls the threshold back under it.
        """
        base = self.base.get(p.predictor)
        silenced = self.silenced.get(key)
        if base is None:
            return
        held_back = self._thresholds[p.predictor] > base and probability >= base
        if silenced is None and not held_back:
            return
        if silenced is None:
            silenced = self.silenced[key] = self._new_episode(p, probability)
            silenced.silenced = True
            return
        self._track_failure(silenced, p, probability)
        silenced.peak_probability = max(silenced.peak_probability, probability)
        policy = self.policies.get(p.predictor)
        if probability >= base - (policy.hysteresis if policy else 0.0):
            return
        del self.silenced[key]
        if silenced.failure_seen:
            silenced.end, silenced.outcome, silenced.level = p.timestamp, "failure", 0
            self.history[silenced.id] = silenced
            self.metrics.feedback.labels(p.predictor, "missed_failure").inc()
            log.warning("predictor %s missed a failure of %s: the tuned threshold %.4f held back an alert at %.4f",
                        p.predictor, ann.target_name(p.labels), self._thresholds[p.predictor],
                        silenced.pre_failure_peak)
            emit("feedback", logging.WARNING, verdict="missed_failure", predictor=p.predictor, labels=p.labels,
                 episode=silenced.id, peak_probability=round(silenced.pre_failure_peak, 4),
                 threshold=self._thresholds[p.predictor])
            self._save()

    def _close(self, episode: Episode, end: float, outcome: str):
        episode.end, episode.outcome, episode.level = end, outcome, 0
        self.open.pop(target_key(episode.predictor, episode.labels), None)
        self._annotate(episode, "end", end, ann.episode_tags(episode, resolved=True), ann.end_text(episode))

    def _annotate(self, episode: Episode, role: str, at: float, tags: list, text: str):
        self.annotations.add(episode, role, at, tags, text)

    def _log_prediction(self, key: str, p, probability: float):
        """Only on change: a new level, or a probability that moved by `log_probability_step`."""
        last = self._logged.get(key)
        if last and last[0] == p.risk_level and abs(last[1] - probability) < self.settings.log_probability_step:
            return
        self._logged[key] = (p.risk_level, probability)
        emit("prediction", predictor=p.predictor, labels=p.labels, event_time=p.timestamp,
             risk_level=p.risk_level, probability=round(probability, 4),
             probability_by_window={str(int(w)): round(v, 4) for w, v in p.probability.items()},
             ttf_seconds={str(q): v for q, v in p.ttf.items()}, anomaly_score=p.anomaly_score,
             observed=p.observed, limit=p.limit)

    # -- verdicts and thresholds ------------------------------------------------------
    def _retune(self, announce: bool) -> dict[str, float]:
        changed = {}
        for predictor, base in self.base.items():
            dismissed, confirmed = judged_peaks(self.history, predictor)
            new = tuned_threshold(base, dismissed, confirmed, self.settings.margin, self.settings.max_threshold)
            old = self._thresholds.get(predictor, base)
            self._thresholds[predictor] = new
            if announce and new != old:
                changed[predictor] = new
                log.info("threshold of predictor %s: %.4f -> %.4f (%d dismissed, %d confirmed episodes)",
                         predictor, old, new, len(dismissed), len(confirmed))
                emit("threshold_change", predictor=predictor, threshold_from=old, threshold_to=new, base=base,
                     dismissed_episodes=len(dismissed), confirmed_episodes=len(confirmed),
                     highest_dismissed_peak=max(dismissed, default=None),
                     lowest_confirmed_peak=min(confirmed, default=None))
        return changed

    def _prune(self, now: float):
        """Forget closed, unjudged episodes older than `lookback`; judged ones set thresholds."""
        cutoff = now - self.settings.lookback
        for eid in [eid for eid, e in self.history.items()
                    if not e.open and e.end < cutoff and e.verdict is None and e.outcome != "failure"]:
            del self.history[eid]

    def _save(self):
        if not self.settings.state_path:
            return
        problem = save_state(self.settings.state_path, self.history, self.processed, self._thresholds)
        if problem:
            log.error(problem)
            emit("feedback_state_error", logging.ERROR, problem=problem)
