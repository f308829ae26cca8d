"""When the generated alert rules would fire, on event time: for backtests and the bench.

`foresight rules` writes one rule per severity on foresight_risk_level for each predictor,
each with its `for:`. The rules are read from generate.rules itself, so a backtest asks
exactly what Prometheus would be asked. A rule is pending from the first evaluation its
condition holds, fires once the condition has held for `for:`, and resolves at the first
evaluation where it does not hold: how Prometheus evaluates `for:`.
"""
from dataclasses import dataclass

import numpy as np

from foresight.generate.rules import AlertCondition, alert_conditions

# The publisher drops a prediction not renewed for an hour of event time (publish.metrics).
STALE_AFTER = 3600.0

class ForClause:
    """One rule's `for:` on one series, fed the rule's condition at each evaluation."""

    def __init__(self, hold: float):
        self.hold = hold
        self.active_since = None  # when the condition started holding; None while it does not

    def update(self, now: float, condition: bool) -> bool:
        """Whether the alert fires at this evaluation."""
        if not condition:
            self.active_since = None
            return False
        if self.active_since is None:
            self.active_since = now
        return now - self.active_since >= self.hold


def hold_for(times, condition, hold: float) -> np.ndarray:
    """Firing state at each evaluation time of a rule whose condition must hold `hold` seconds."""
    clause = ForClause(hold)
    return np.fromiter((clause.update(float(t), bool(c)) for t, c in zip(times, condition)), bool, len(times))


@dataclass
class Episode:
    """One alert from firing to resolving."""
    predictor: str
    labels: dict  # the prediction's output labels
    severity: str
    start: float  # the evaluation at which it fired
    end: float | None  # the evaluation at which it resolved; None while still firing at the end
    ttf_at_start: float | None  # median time to failure when it fired (None for anomaly kinds)
    why: str


class AlertReplay:
    """Every predictor's rules over a replay. Feed `observe` each evaluation's predictions;
    between evaluations a target keeps its latest level, as /metrics keeps publishing it."""

    def __init__(self, predictor_configs):
        self.rules = {p.name: alert_conditions(p) for p in predictor_configs}
        self.episodes: list[Episode] = []
        self._at_risk = {}  # prediction key -> latest prediction with a risk level (others cannot fire)
        self._clauses = {}  # (key, severity) -> ForClause of a rule whose condition holds
        self._firing = {}  # (key, severity) -> its open Episode

    def observe(self, now: float, predictions, withdrawn=()):
        for p in predictions:
            if p.risk_level:
                self._at_risk[p.key] = p
            else:
                self._at_risk.pop(p.key, None)
        for key in withdrawn:
            self._at_risk.pop(key, None)
        for key in [k for k, p in self._at_risk.items() if p.timestamp < now - STALE_AFTER]:
            del self._at_risk[key]
        for key in set(self._at_risk) | {key for key, _ in self._clauses}:
            prediction = self._at_risk.get(key)
            level = prediction.risk_level if prediction is not None else 0
            for rule in self.rules.get(key[0], ()):
                self._evaluate(now, key, rule, prediction, rule.holds(level))

    def _evaluate(self, now, key, rule: AlertCondition, prediction, holds: bool):
        which = (key, rule.severity)
        clause = self._clauses.get(which)
        if clause is None:
            if not holds:
                return
            clause = self._clauses[which] = ForClause(rule.hold)
        firing = clause.update(now, holds)
        episode = self._firing.get(which)
        if firing and episode is None:
            episode = Episode(key[0], dict(key[1]), rule.severity, now, None, prediction.ttf.get(0.5),
                              "; ".join(prediction.drivers))
            self._firing[which] = episode
            self.episodes.append(episode)
        elif not firing and episode is not None:
            episode.end = now
            del self._firing[which]
        if not holds:
            del self._clauses[which]
