"""Correlated predictions become one incident, named after its root-cause candidate.

Two at-risk predictions are related when their episodes started within `window` seconds of
each other and their services are the same or call each other (one edge of the service
graph). An incident is a group of predictions joined by such relations, so services are
tied together transitively only through services that are themselves at risk.

Incidents are sticky: a prediction stays in its incident (or the one that absorbs it) while
it is at risk, and an incident's id, chosen when it opens, never changes (Alertmanager groups notifications by
it). A new prediction joins the open incident it is related to; otherwise it opens a new one
with the new predictions it is related to. When something ties two open incidents together
(a prediction related to both, or a new edge in the graph) they merge into the one holding
the root-cause candidate, so a failure spreading in any order ends as one incident; the
absorbed incident's alerts change their `incident` label and resolve under the old one.

The root-cause candidate is the most downstream service of the incident: the one reached
by calls from the most other member services (through member services only); ties go to
the service whose prediction started first. It is re-evaluated as members come and go, so
it can move away from the service the id was named after when the incident opened.
"""
import logging
import math
import numbers
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from .graph import ServiceGraph

log = logging.getLogger(__name__)


@dataclass
class AtRisk:
    key: tuple  # the prediction's key
    service: str
    level: int  # policy level, > 0 while at risk
    started_at: float  # event time the prediction's episode began
    kind: str = ""  # e.g. exhaustion or anomaly, for the notification text


@dataclass
class Incident:
    id: str
    root_cause: str
    members: list[tuple]
    started_at: float  # earliest start among its members


@dataclass
class _Open:
    id: str
    root_cause: str
    started_at: float
    members: dict = field(default_factory=dict)  # key -> AtRisk

    def snapshot(self) -> Incident:
        return Incident(self.id, self.root_cause, sorted(self.members, key=repr), self.started_at)


class IncidentCorrelator:
    def __init__(self, graph: ServiceGraph, window: float = 1800.0):
        if not (window >= 0 and math.isfinite(window)):
            raise ValueError(f"incident window must be a non-negative number of seconds, got {window!r}")
        self.graph = graph
        self.window = window
        self.skipped = Counter()  # reason -> at-risk entries ignored as malformed
        self._open: dict[str, _Open] = {}  # incident id -> incident
        self._incident_of: dict[tuple, str] = {}  # prediction key -> incident id

    def update(self, at_risk: list[AtRisk], now: float) -> dict[tuple, Incident]:
        """The incident of every valid at-risk prediction; predictions not listed leave their incidents."""
        current = self._valid(at_risk)
        self.graph.expire(now)
        calls = set(self.graph.edges())
        self._drop_recovered(current)
        for entry in current.values():
            incident_id = self._incident_of.get(entry.key)
            if incident_id is not None:
                self._open[incident_id].members[entry.key] = entry
        new = [e for e in current.values() if e.key not in self._incident_of]
        for component in self._components(new, calls):
            self._settle(component, calls)
        for incident in self._open.values():
            root = _root_cause(incident.members.values(), calls)
            if root != incident.root_cause:
                log.info("incident %s: root-cause candidate now %s (was %s)", incident.id, root, incident.root_cause)
                incident.root_cause = root
        snapshots = {incident_id: incident.snapshot() for incident_id, incident in self._open.items()}
        return {key: snapshots[self._incident_of[key]] for key in current}

    def holds(self, key: tuple) -> bool:
        """True while the prediction is a member of an open incident."""
        return key in self._incident_of

    def open_incidents(self) -> list[Incident]:
        return sorted((i.snapshot() for i in self._open.values()), key=lambda i: (i.started_at, i.id))

    # -- steps of update ---------------------------------------------------------------
    def _valid(self, at_risk: list[AtRisk]) -> dict[tuple, AtRisk]:
        valid = {}
        for entry in at_risk:
            if not isinstance(entry, AtRisk):
                self.skipped["not_an_at_risk_entry"] += 1
            elif not isinstance(entry.key, tuple):
                self.skipped["key_not_a_tuple"] += 1
            elif not isinstance(entry.service, str) or not entry.service:
                self.skipped["missing_service"] += 1
            elif not isinstance(entry.started_at, numbers.Real) or not math.isfinite(entry.started_at):
                self.skipped["bad_started_at"] += 1
            elif not isinstance(entry.level, numbers.Integral) or entry.level <= 0:
                self.skipped["not_at_risk"] += 1
            else:
                valid[entry.key] = entry
        return valid

    def _drop_recovered(self, current: dict) -> None:
        for key in [k for k in self._incident_of if k not in current]:
            incident = self._open[self._incident_of.pop(key)]
            del incident.members[key]
            if not incident.members:
                del self._open[incident.id]
                log.info("incident %s closed (root-cause candidate %s)", incident.id, incident.root_cause)

    def _components(self, new: list[AtRisk], calls: set) -> list[tuple[list[str], list[AtRisk]]]:
        """Groups of open incidents and new predictions tied together by related members.

        Each group is (ids of the open incidents in it, new predictions in it); groups of a
        single open incident and nothing new are left out.
        """
        # Union-find over nodes: an open incident's id, or a new prediction's key.
        parent: dict = {}

        def find(node):
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        members: list[tuple[object, AtRisk]] = []
        for incident_id, incident in self._open.items():
            parent[incident_id] = incident_id
            members += [(incident_id, m) for m in incident.members.values()]
        for entry in new:
            parent[("new", entry.key)] = ("new", entry.key)
            members.append((("new", entry.key), entry))
        by_service: dict[str, list] = {}
        for node, entry in members:
            by_service.setdefault(entry.service, []).append((node, entry))
        neighbours: dict[str, set] = {}
        for caller, callee in calls:
            neighbours.setdefault(caller, set()).add(callee)
            neighbours.setdefault(callee, set()).add(caller)
        for node, entry in members:
            for service in {entry.service} | neighbours.get(entry.service, set()):
                for other_node, other in by_service.get(service, ()):
                    if abs(entry.started_at - other.started_at) <= self.window:
                        parent[find(node)] = find(other_node)
        new_by_key = {e.key: e for e in new}
        groups: dict = {}
        for node in parent:
            incidents, entries = groups.setdefault(find(node), ([], []))
            if isinstance(node, tuple):
                entries.append(new_by_key[node[1]])
            else:
                incidents.append(node)
        return [(ids, entries) for ids, entries in groups.values() if entries or len(ids) > 1]

    def _settle(self, component: tuple[list[str], list[AtRisk]], calls: set) -> None:
        """Put a group's new predictions into one incident, merging open incidents it ties together."""
        incident_ids, entries = component
        everyone = entries + [m for i in incident_ids for m in self._open[i].members.values()]
        if not incident_ids:
            self._open_incident(entries, calls)
            return
        root = _root_cause(everyone, calls)
        # The surviving id: the incident holding the root-cause candidate, else the oldest.
        survivor = self._open[min(incident_ids, key=lambda i: (
            all(m.service != root for m in self._open[i].members.values()), self._open[i].started_at, i))]
        for incident_id in incident_ids:
            if incident_id != survivor.id:
                absorbed = self._open.pop(incident_id)
                log.info("incident %s merged into %s", incident_id, survivor.id)
                entries = entries + list(absorbed.members.values())
                survivor.started_at = min(survivor.started_at, absorbed.started_at)
        for entry in entries:
            survivor.members[entry.key] = entry
            survivor.started_at = min(survivor.started_at, entry.started_at)
            self._incident_of[entry.key] = survivor.id
        if entries:
            log.info("incident %s: now %d members on %s", survivor.id, len(survivor.members),
                     ", ".join(sorted({m.service for m in survivor.members.values()})))

    def _open_incident(self, group: list[AtRisk], calls: set) -> None:
        root = _root_cause(group, calls)
        started = min(e.started_at for e in group)
        incident_id = base = f"{root}-{time.strftime('%Y%m%dT%H%M', time.gmtime(started))}"
        suffix = 2
        while incident_id in self._open:
            incident_id, suffix = f"{base}-{suffix}", suffix + 1
        self._open[incident_id] = _Open(incident_id, root, started, {e.key: e for e in group})
        for e in group:
            self._incident_of[e.key] = incident_id
        log.info("incident %s opened: root-cause candidate %s, services %s", incident_id, root,
                 ", ".join(sorted({e.service for e in group})))


def _root_cause(members, calls: set) -> str:
    """The member service reached by calls from the most other member services; ties: earliest start, name."""
    first_start: dict[str, float] = {}
    for m in members:
        first_start[m.service] = min(first_start.get(m.service, math.inf), m.started_at)
    services = set(first_start)
    callees: dict[str, set] = {}
    for caller, callee in calls:
        if caller in services and callee in services:
            callees.setdefault(caller, set()).add(callee)
    reached_by = Counter()
    for service in services:
        for reached in _reachable(service, callees):
            reached_by[reached] += 1
    return min(services, key=lambda s: (-reached_by[s], first_start[s], s))


def _reachable(start: str, callees: dict[str, set]) -> set[str]:
    seen, queue = set(), deque([start])
    while queue:
        for nxt in callees.get(queue.popleft(), ()):
            if nxt not in seen and nxt != start:
                seen.add(nxt)
                queue.append(nxt)
    return seen
