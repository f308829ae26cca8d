"""The `logs` predictor: log templates per service, and an anomaly score from them.

It reads the OTLP log stream (not series): Drain3 mines templates, their rates are
counted per service, and new templates or surging error templates raise the service's
anomaly score. Each service's score also goes into the series store as
`log_anomaly_score{job="<service>"}`, so other predictors can name it as a driver.

```yaml
- name: log-patterns
  kind: logs
  services: [checkout, db]      # optional: only these services (default: all)
  mining: {}                    # optional overrides of the log settings
```
"""
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.predictions import Prediction
from foresight.predictors.base import Predictor
from foresight.store import SeriesStore

from .config import LogsConfig
from .records import LogRecord
from .signals import LogPatternDetector

FEATURE_METRIC = "log_anomaly_score"


class LogsPredictor(Predictor):
    Config = LogsConfig
    scores_anomalies = True
    reads_logs = True

    def __init__(self, config: LogsConfig):
        super().__init__(config)
        self.detector = LogPatternDetector(config.mining)
        self._wanted = set(config.services)
        self._latest = float("-inf")  # newest log time seen: the event-time clock
        self._folded = float("-inf")  # event time the detector last folded its counts at
        self._next_due = float("-inf")
        self._first_seen: dict[str, float] = {}

    def selectors(self) -> list:
        return []

    def bad_input(self) -> dict:
        counts = {f"log_{reason}": n for reason, n in self.detector.bad.items()}
        if self.detector.late:
            counts["log_too_late"] = self.detector.late
        return counts

    def forget_services(self, services) -> list[tuple]:
        """Services whose logs went to another replica: their counts are dropped; returns the
        keys of their predictions, to withdraw."""
        for service in services:
            self.detector.forget_service(service)
            self._first_seen.pop(service, None)
        return [(self.config.name, (("service", service),)) for service in services]

    def add_log_lines(self, lines) -> int:
        """Count a batch of lines. A batch spanning hours (a backlog after a restart) is
        folded into the detector step by step, so its old lines are counted, not dropped."""
        records = sorted((LogRecord(line.timestamp, line.service, line.severity.upper(), line.body)
                          for line in lines if not self._wanted or line.service in self._wanted),
                         key=lambda r: r.timestamp)
        accepted, chunk = 0, []
        for record in records:
            if chunk and record.timestamp >= self._folded + self.config.evaluate_every:
                accepted += self._add(chunk)
                self.detector.evaluate(self._latest)  # fold the counts up to here
                self._folded, chunk = self._latest, []
            chunk.append(record)
            if record.timestamp > self._latest:
                self._latest = record.timestamp
        return accepted + self._add(chunk)

    def _add(self, records) -> int:
        return self.detector.add(records) if records else 0

    def evaluate(self, store: SeriesStore) -> list[Prediction]:
        self.withdrawn = []
        if self._latest == float("-inf") or self._latest < self._next_due:
            return []  # no log line yet, or not due
        now = self._latest
        self._next_due = now + self.config.evaluate_every
        self._folded = now
        results = []
        for signal in self.detector.evaluate(now):
            first = self._first_seen.setdefault(signal.service, now)
            results.append(Prediction(
                predictor=self.config.name,
                labels={"service": signal.service},
                timestamp=now,
                observed=None,
                anomaly_score=signal.anomaly_score,
                history_seconds=now - first,
                drivers=[signal.explanation] if signal.explanation else [],
                log_templates=[(r.template_id, r.template, r.severity, r.per_second) for r in signal.top_rates],
            ))
        return results

    def export_targets(self) -> dict:
        """One target, the whole stream: the services share one template miner."""
        return {(): {"detector": self.detector, "latest": self._latest, "folded": self._folded,
                     "next_due": self._next_due, "first_seen": self._first_seen}}

    def keeps(self, service: str) -> bool:
        """Whether this predictor keeps counts of the service."""
        return self.detector.keeps(service)

    def export_services(self, services) -> dict:
        """Each service's own state, keyed (("service", name),), for the replica its logs go to."""
        out = {}
        for service in services:
            counts = self.detector.export_service(service)
            if counts is not None:
                out[(("service", service),)] = {"counts": counts, "first_seen": self._first_seen.get(service)}
        return out

    def import_target(self, key: tuple, state: dict):
        service = dict(key).get("service") if key else None
        if service is not None:  # one service's state, handed over by another replica
            first = state.get("first_seen")
            self.detector.import_service(service, state["counts"])
            if first is not None:
                self._first_seen[service] = min(float(first), self._first_seen.get(service, float("inf")))
            return
        if key != () or not isinstance(state.get("detector"), LogPatternDetector):
            raise ValueError(f"predictor {self.config.name}: not the state of a logs predictor")
        self.detector = state["detector"]
        self._latest, self._folded = float(state["latest"]), float(state["folded"])
        self._next_due, self._first_seen = float(state["next_due"]), dict(state["first_seen"])

    def derived_points(self, predictions: list[Prediction]) -> list[Point]:
        """Each service's score as `log_anomaly_score{job}`, a series the other predictors may
        name, e.g. `drivers: {log anomalies: log_anomaly_score}`."""
        return [Point(FEATURE_METRIC, (("job", p.labels["service"]),), p.timestamp, p.anomaly_score, GAUGE)
                for p in predictions]
