"""Incidents for the engine: the service graph from traces, and an incident per group of
predictions at risk on services that call each other.

Keeps each target's episode start (when its risk level left 0) and hands every target
at risk to the correlator after each evaluation, so a prediction's `incident` names the
group it belongs to and that group's root-cause candidate.
"""
import time
from collections import Counter

from .correlate import AtRisk, Incident, IncidentCorrelator
from .graph import ServiceGraph
from .spans import SpanEdgeDecoder


class IncidentTracker:
    def __init__(self, window: float = 1800.0):
        self.decoder = SpanEdgeDecoder()
        self.graph = ServiceGraph()
        self.correlator = IncidentCorrelator(self.graph, window=window)
        self._at_risk: dict[tuple, AtRisk] = {}  # prediction key -> its open episode
        self._incidents: dict = {}  # prediction key -> Incident, as of the last correlation
        self._alone: dict = {}  # prediction key -> the incident of a target related to no other
        self._correlated: frozenset = frozenset()  # the at-risk keys the last correlation saw

    @property
    def bad(self):
        """Spans that could not be read, by reason (counted as bad input)."""
        return self.decoder.bad

    def add_traces(self, request):
        """Calls between services from a parsed ExportTraceServiceRequest."""
        self.graph.add_all(self.decoder.decode_request(request))

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
        # Incidents change only when targets enter or leave risk: with thousands of targets
        # at risk, correlating them all at every evaluation would cost more than predicting.
        keys = frozenset(self._at_risk)
        if keys != self._correlated:
            self.graph.expire(now)
            related, alone = self._split(list(self._at_risk.values()))
            self._incidents = self.correlator.update(related, now)
            self._alone = {a.key: self._alone.get(a.key) or _own_incident(a) for a in alone}
            self._incidents.update(self._alone)
            self._correlated = keys
        incidents = self._incidents
        for p in predictions:
            incident = incidents.get(p.key) if p.risk_level else None
            p.incident = (incident.id, incident.root_cause) if incident else None

    def _split(self, at_risk: list) -> tuple[list, list]:
        """(targets that may share an incident, targets related to no other at-risk target).
        Only the first go through the correlator: most targets at risk at any time are
        alone, and correlating thousands of them at every evaluation costs more than
        predicting them. A target already in a shared incident stays with the correlator
        when the others leave, so its incident id does not change while it is at risk."""
        services = Counter(a.service for a in at_risk)
        calls = self.graph.edges()
        neighbours_of: dict[str, set] = {}
        for caller, callee in calls:
            neighbours_of.setdefault(caller, set()).add(callee)
            neighbours_of.setdefault(callee, set()).add(caller)
        related, alone = [], []
        for a in at_risk:
            neighbours = neighbours_of.get(a.service, ())
            if services[a.service] > 1 or any(n in services for n in neighbours) or self.correlator.holds(a.key):
                related.append(a)
            else:
                alone.append(a)
        return related, alone


def _own_incident(a: AtRisk) -> Incident:
    """A target alone is its own incident, named as the correlator names incidents."""
    return Incident(f"{a.service}-{time.strftime('%Y%m%dT%H%M', time.gmtime(a.started_at))}", a.service,
                    [a.key], a.started_at)
