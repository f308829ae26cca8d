"""Incidents for the engine: the service graph from traces, and an incident per group of
predictions at risk on services that call each other.

Keeps each target's episode start (when its risk level left 0) and hands every target
at risk to the correlator after each evaluation, so a prediction's `incident` names the
group it belongs to and that group's root-cause candidate.

Replicas of one consumer group each predict their own partitions' targets and read a share
of the traces. They exchange their targets at risk and their service graph's calls
(`shared`, `take_peer_calls`, runtime/peers.py), and each correlates its own targets at
risk with the others' (`assign(peers=...)`): incident ids are named from the root cause
and the start time, so replicas that see the same targets and calls name the same
incidents.
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

    def shared(self) -> dict:
        """This replica's targets at risk and the calls it has seen, as JSON-ready lists."""
        at_risk = [[a.key[0], [list(item) for item in a.key[1]], a.service, a.level, a.started_at, a.kind]
                   for a in self._at_risk.values()]
        calls = [[caller, callee, stats.last_seen] for (caller, callee), stats in self.graph.edges().items()]
        return {"at_risk": at_risk, "calls": calls}

    def episode_start(self, key: tuple) -> float | None:
        """When the target's current time at risk began (None when it is not at risk)."""
        known = self._at_risk.get(key)
        return None if known is None else known.started_at

    def resume(self, key: tuple, level: int, started_at: float):
        """A target handed over from another replica, at risk since `started_at`."""
        if level > 0 and key not in self._at_risk:
            self._at_risk[key] = AtRisk(key, dict(key[1]).get("service", ""), level, started_at)

    def forget(self, keys):
        """Targets handed to another replica."""
        for key in keys:
            self._at_risk.pop(key, None)

    def take_peer_calls(self, calls):
        """Calls another replica saw, into this replica's service graph."""
        for caller, callee, last_seen in calls:
            self.graph.add_call(caller, callee, last_seen, ("peer",), calls=0)

    def assign(self, predictions: list, withdrawn=(), now: float | None = None, peers=()):
        """Set `incident` on each prediction at risk; targets that left risk leave their incident.
        `peers`: the other replicas' targets at risk (AtRisk), correlated with this one's."""
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
        peers = [a for a in peers if a.key not in self._at_risk]
        keys = frozenset(self._at_risk) | frozenset(a.key for a in peers)
        if keys != self._correlated:
            self.graph.expire(now)
            related, alone = self._split(list(self._at_risk.values()) + peers)
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
