"""Severity from prediction, with hysteresis: one problem stays one alert episode.

The live service and the backtest run this same code.
"""
from foresight.config import PolicyConfig
from foresight.contracts.severities import CRITICAL, INFO, NONE, SEVERITY_LEVELS, WARNING


class Policy:
    """One predictor's policy. `scores` says which input it reads: failure probabilities
    (exhaustion) or anomaly scores (anomaly, logs). Its alert threshold can be tuned at
    run time (by feedback) without touching the config."""

    def __init__(self, config: PolicyConfig, scores: bool = False):
        self.config = config
        self.scores = scores
        self.levels: dict[tuple, int] = {}  # prediction key -> current level
        self.threshold = config.score_threshold if scores else config.probability
        self._detected_at: dict[tuple, float] = {}  # key -> event time the score last reached the threshold
        self._apart_since: dict[tuple, float] = {}  # key -> event time a young target began to stand apart from its peers
        self._windows_by_severity = sorted(self.windows().items(), reverse=True)  # the config does not change

    def forget(self, key: tuple):
        """Drop what is kept for a prediction (its target went to another replica)."""
        self.levels.pop(key, None)
        self._detected_at.pop(key, None)
        self._apart_since.pop(key, None)

    def set_threshold(self, value: float):
        """Change the entry threshold; the hysteresis band keeps its width, within (0, 1]."""
        self.threshold = min(1.0, max(self.config.hysteresis + 0.01, float(value)))

    def decide_prediction(self, prediction) -> int:
        if self.scores:
            return self.decide_score(prediction.key, prediction.anomaly_score, prediction.timestamp,
                                     prediction.history_seconds, prediction.persisting, prediction.peer_outlier)
        return self.decide(prediction.key, prediction.probability, prediction.history_seconds,
                           prediction.failures_seen, prediction.peer_outlier, prediction.daily_profile_days,
                           prediction.timestamp)

    def decide_score(self, key: tuple, score: float | None, now: float | None = None,
                     history_seconds: float = float("inf"), persisting: bool | None = None,
                     peer_outlier: bool | None = None) -> int:
        """`score_severity` while the anomaly score is at or above the threshold, with the
        same hysteresis as probabilities, and for `score_hold` after the last detection:
        streaming detectors score a change once and then go quiet, while an alert needs
        the level to hold for its `for:`. The hold ends early once the predictor says the
        series is no longer away from its level (`persisting` False): a blip that is over
        within the alert's `for:` (a restart, a deploy) does not fire. A target watched
        for less than `min_history` alerts only on a move of its own (`peer_outlier` True:
        its level changed apart from its peers'): until its daily pattern is known, its
        first days all look new. At any age, an alarm that `fleet_share` of its peers raised
        within the same hour (`peer_outlier` False: a rolling deploy, a batch job on every
        host) is the fleet's and does not alert."""
        if peer_outlier is False or (history_seconds < self.config.min_history and peer_outlier is not True):
            self.levels[key] = NONE
            return NONE
        current = self.levels.get(key, NONE)
        target = SEVERITY_LEVELS[self.config.score_severity]
        score = 0.0 if score is None else score
        if score >= self.threshold and now is not None:
            self._detected_at[key] = now
        held = (now is not None and key in self._detected_at and persisting is not False
                and now - self._detected_at[key] < self.config.score_hold)
        entered = (score >= self.threshold or held
                   or (current >= target and score >= self.threshold - self.config.hysteresis))
        level = target if entered else NONE
        self.levels[key] = level
        return level

    def windows(self) -> dict[int, float]:
        c = self.config
        return {CRITICAL: c.critical_within, WARNING: c.warning_within, INFO: c.info_within}

    def decide(self, key: tuple, probability: dict, history_seconds: float = float("inf"),
               failures_seen: int = 0, peer_outlier: bool | None = None,
               profile_days: int | None = None, now: float | None = None) -> int:
        """The new level for a target, given P(crossing) per window (seconds -> p).

        A target whose daily pattern is not known can only be critical: watched for less than
        `min_history`, or, without a daily profile yet (`profile_days` 0: one needs two whole
        days), for less than `peer_history` (`min_history: 0s` turns this off). Until then a
        new node's ramp, or its second morning's climb, could as well be its daily load as a
        leak, so only an imminent crossing alerts; unless its peers say otherwise
        (`peer_outlier` True: its headroom shrank apart from theirs) for `apart_warning_after`
        of event time (`now`) without a break, and then it may warn as well. One that has
        already reached its limit is no new node. One watched for less than
        `first_alert_after` does not alert at all. Nor does any target whose peers moved alike
        (`peer_outlier` False: the fleet's first peak, its start-up, a CPU's spikes to its
        limit in a deploy), whether it has reached its limit before or not. Predictors judge
        that only while a target's own daily pattern is not known.
        """
        young = self.config.young(history_seconds, profile_days, failures_seen)
        if not (young and peer_outlier):
            self._apart_since.pop(key, None)
        if (young and history_seconds < self.config.first_alert_after) or peer_outlier is False:
            self.levels[key] = NONE
            return NONE
        current = self.levels.get(key, NONE)
        enter, stay = self.threshold, self.threshold - self.config.hysteresis
        lowest = CRITICAL
        if young and peer_outlier and now is not None:
            # Apart from its peers for long enough, it is no fleet's load and no passing burst: it may warn too.
            if now - self._apart_since.setdefault(key, now) >= self.config.apart_warning_after:
                lowest = WARNING
        level = NONE
        for candidate, window in self._windows_by_severity:
            if young and candidate < lowest:
                break
            p = probability.get(window, 0.0)
            if p >= enter or (current >= candidate and p >= stay):
                level = candidate
                break
        self.levels[key] = level
        return level
