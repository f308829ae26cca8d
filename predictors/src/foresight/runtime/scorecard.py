"""The live scorecard: how a predictor's champion, and its challenger in shadow, do as the
truth arrives; and each champion target's drift watch, fed from the same outcomes.

- A forecast kind's 1 h forecast (p10, p50, p90) waits until a later evaluation of the
  same target comes at or after its due time (within `LATE`, else it is dropped unscored);
  that evaluation's observed value is the truth. Scores as runtime.scoring defines them:
  the scaled error (MASE at 1 h, per target, averaged over targets) and the p10-p90
  coverage.
- An alert episode is a risk level entered from 0 (the generated rules alert on levels).
- Verdicts (feedback) on a champion episode count for the champion; for the challenger
  they count when it was at risk on that target during the episode too.
- Days: a day of event time (UTC) is scored when both aliases scored forecasts in it and
  it has ended. The challenger was better on it when its scaled error was lower and it
  entered no more alert episodes. `days_better` is the run of such days up to the last
  scored day.
"""
import math
from collections import deque
from dataclasses import dataclass, field

from foresight.lifecycle.drift import DriftSettings, DriftWatch

from .scoring import mase

HORIZON = 3600.0
QUANTILES = (0.1, 0.5, 0.9)
LATE = 600.0  # a forecast whose truth comes later than this past its due time is not scored
DAY = 86400.0
CHAMPION, CHALLENGER = "champion", "challenger"
SPANS_KEPT = 50  # at-risk spans kept per target, for verdicts


@dataclass
class _Pending:
    due: float
    p10: float
    p50: float
    p90: float
    start: float  # the observed value when the forecast was made (the naive forecast)


@dataclass
class Record:
    """One alias of one predictor, since it started."""
    parts: dict = field(default_factory=dict)  # labels -> [abs error sum, naive error sum, n]
    covered: int = 0
    scored: int = 0
    episodes: int = 0
    verdicts: dict = field(default_factory=lambda: {"confirmed": 0, "dismissed": 0})
    days: dict = field(default_factory=dict)  # day number -> [abs error sum, naive error sum, n, episodes]
    levels: dict = field(default_factory=dict)  # labels -> last risk level
    spans: dict = field(default_factory=dict)  # labels -> [[start, end or None]] while/when at risk
    pending: dict = field(default_factory=dict)  # labels -> deque of _Pending

    def day(self, t: float) -> list:
        return self.days.setdefault(int(t // DAY), [0.0, 0.0, 0, 0])


class Scorecard:
    def __init__(self, drift: DriftSettings | None = None, expected_alarms: dict | None = None,
                 watches: dict | None = None):
        self.drift_settings = drift or DriftSettings()
        self.expected_alarms = dict(expected_alarms or {})  # predictor -> alerts expected per evaluation
        self.records: dict = {}  # (predictor, alias) -> Record
        # predictor -> DriftWatch of its champion: the engine's dict, so checkpoints keep it
        self.drift: dict = {} if watches is None else watches

    def record(self, predictor: str, alias: str) -> Record:
        return self.records.setdefault((predictor, alias), Record())

    def watch(self, predictor: str) -> DriftWatch:
        if predictor not in self.drift:
            self.drift[predictor] = DriftWatch(predictor, self.drift_settings, self.expected_alarms.get(predictor, 0.0))
        return self.drift[predictor]

    def reset(self, predictor: str, drift: bool = False):
        """A new challenger (or champion): the comparison starts again; `drift`: so does the drift watch."""
        for alias in (CHAMPION, CHALLENGER):
            self.records.pop((predictor, alias), None)
        if drift:
            self.drift.pop(predictor, None)  # in place: the engine's checkpoints hold this dict

    def observe(self, predictions, alias: str):
        for p in predictions:
            labels = tuple(sorted(p.labels.items()))
            rec = self.record(p.predictor, alias)
            self._levels(rec, p, labels, alias)
            if p.observed is None or not math.isfinite(p.observed):
                continue
            queue = rec.pending.setdefault(labels, deque())
            while queue and queue[0].due <= p.timestamp:
                pending = queue.popleft()
                if p.timestamp - pending.due <= LATE:
                    self._score(rec, p.predictor, labels, pending, p.observed, alias)
            values = [p.forecast.get((HORIZON, q)) for q in QUANTILES]
            if all(v is not None and math.isfinite(v) for v in values):
                queue.append(_Pending(p.timestamp + HORIZON, *values, p.observed))

    def withdraw(self, keys, alias: str):
        """Predictions withdrawn: their pending forecasts go, and a level held ends."""
        for predictor, labels in keys:
            rec = self.records.get((predictor, alias))
            if rec is not None:
                rec.pending.pop(labels, None)
                rec.levels.pop(labels, None)

    def _levels(self, rec: Record, p, labels: tuple, alias: str):
        before = rec.levels.get(labels, 0)
        rec.levels[labels] = p.risk_level
        entered = bool(p.risk_level) and not before
        spans = rec.spans.setdefault(labels, [])
        if entered:
            rec.episodes += 1
            rec.day(p.timestamp)[3] += 1
            spans.append([p.timestamp, None])
            del spans[:-SPANS_KEPT]
        elif before and not p.risk_level and spans:
            spans[-1][1] = p.timestamp
        if alias == CHAMPION and p.anomaly_score is not None:
            self.watch(p.predictor).add(labels, "alarm_rate", float(entered), p.timestamp)

    def _score(self, rec: Record, predictor: str, labels: tuple, pending: _Pending, truth: float, alias: str):
        error, naive = abs(pending.p50 - truth), abs(pending.start - truth)
        covered = pending.p10 <= truth <= pending.p90
        part = rec.parts.setdefault(labels, [0.0, 0.0, 0])
        part[0] += error
        part[1] += naive
        part[2] += 1
        rec.scored += 1
        rec.covered += covered
        day = rec.day(pending.due)
        day[0] += error
        day[1] += naive
        day[2] += 1
        if alias != CHAMPION:
            return
        watch = self.watch(predictor)
        scale = watch.scale.setdefault(labels, [0.0, 0])
        scale[0] += naive
        scale[1] += 1
        watch.add(labels, "coverage", 0.0 if covered else 1.0, pending.due)
        if scale[1] >= 10 and scale[0] > 0:  # the naive error's scale, over the track record so far
            watch.add(labels, "forecast_error", error / (scale[0] / scale[1]), pending.due)

    def verdict(self, predictor: str, labels: tuple, start: float | None, end: float | None, verdict: str):
        """An engineer's verdict (confirmed, dismissed) on a champion episode [start, end]
        (start None: an episode the scorecard did not see, which counts for the champion only)."""
        if verdict not in ("confirmed", "dismissed"):
            return
        for alias in (CHAMPION, CHALLENGER):
            rec = self.records.get((predictor, alias))
            if rec is None:
                continue
            stop = math.inf if end is None else end
            overlaps = start is not None and any(s <= stop and (e is None or e >= start)
                                                 for s, e in rec.spans.get(labels, []))
            if alias == CHAMPION or overlaps:
                rec.verdicts[verdict] += 1

    # -- what is published -------------------------------------------------------------
    def days(self, predictor: str, now: float) -> tuple[int, int]:
        """(days scored, the run of days the challenger was better, up to the last scored day)."""
        champion, challenger = self.records.get((predictor, CHAMPION)), self.records.get((predictor, CHALLENGER))
        if champion is None or challenger is None:
            return 0, 0
        today = int(now // DAY)
        scored = sorted(d for d in set(champion.days) & set(challenger.days)
                        if d < today and champion.days[d][2] and challenger.days[d][2])
        run = 0
        for d in scored:
            a, b = champion.days[d], challenger.days[d]
            better = b[0] / max(b[1], 1e-12) < a[0] / max(a[1], 1e-12) and b[3] <= a[3]
            run = run + 1 if better else 0
        return len(scored), run

    def scores(self, now: float) -> list[tuple[str, str, str, float]]:
        """(predictor, alias, score, value) rows for foresight_model_score."""
        rows = []
        for (predictor, alias), rec in sorted(self.records.items()):
            values = {"alert_episodes": rec.episodes, "forecasts_scored": rec.scored,
                      "verdicts_confirmed": rec.verdicts["confirmed"], "verdicts_dismissed": rec.verdicts["dismissed"]}
            if rec.scored:
                values["forecast_mase_1h"] = mase(list(rec.parts.values()))
                values["forecast_coverage_p10_p90_1h"] = rec.covered / rec.scored
            if (predictor, CHALLENGER) in self.records:
                scored, better = self.days(predictor, now)
                values["days_scored"] = scored
                if alias == CHALLENGER:
                    values["days_better"] = better
            rows += [(predictor, alias, name, float(v)) for name, v in sorted(values.items()) if v is not None]
        return rows

    def drift_flags(self, now: float) -> list[tuple[str, tuple, str, int]]:
        """(predictor, target labels, signal, 0 or 1) rows for foresight_model_drift."""
        return [(name, labels, signal, flag) for name, watch in sorted(self.drift.items())
                for (labels, signal), flag in sorted(watch.flags(now).items())]


__all__ = ["CHALLENGER", "CHAMPION", "DAY", "HORIZON", "LATE", "Record", "Scorecard"]
