"""Incidents for the engine: the service graph from traces, and an incident per group of
predictions at risk on services that call each other.

Keeps each target's episode start (when its risk level left 0) and hands every target
at risk to the correlator after each evaluation, so a prediction's `incident` names the
group it belongs to and that group's root-cause candidate.
"""
from .incidents.correlate import AtRisk, IncidentCorrelator
from .incidents.graph import ServiceGraph
from .incidents.spans import SpanEdgeDecoder


class IncidentTracker:
    def __init__(self, window: float = 1800.0):
        self.decoder = SpanEdgeDecoder()
        self.graph = ServiceGraph()
        self.correlator = IncidentCorrelator(self.graph, window=window)
        self._at_risk: dict[tuple, AtRisk] = {}  # prediction key -> its open episode

    @property
    def bad(self):
        """Spans that could not be read, by reason (counted as bad input)."""
        return self.decoder.bad

    def add_traces(self, payload: bytes):
        self.graph.add_all(self.decoder.decode(payload))

    def assign(self, predictions: list, withdrawn=(), now: float | None = None):
        """Set `incident` on each prediction at risk; targets that left risk leave their incident."""
        for key in withdrawn:
            self._at_risk.pop(key, None)
        for p in predictions:
            if p.risk_level:
                known = self._at_risk.get(p.key)
                if known is None:
                    self._at_risk[p.key] = AtRisk(p.key, p.labels.get("service", ""), p.risk_level, p.timestamp)
                else:
                    known.level = p.risk_level
            else:
                self._at_risk.pop(p.key, None)
        if now is None:
            now = max((p.timestamp for p in predictions), default=None)
        if now is None:
            return
        self.graph.expire(now)
        incidents = self.correlator.update(list(self._at_risk.values()), now)
        for p in predictions:
            incident = incidents.get(p.key) if p.risk_level else None
            p.incident = (incident.id, incident.root_cause) if incident else None
