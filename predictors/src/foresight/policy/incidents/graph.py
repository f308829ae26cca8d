"""The service graph: who calls whom, as recently seen in traces.

Edges carry a call count and the event time they were last seen. Edges not seen for
`max_age` seconds of event time are dropped (a retired dependency must not tie incidents
together forever), and at most `max_edges` are kept (the least recently seen go first).
Safe to feed from one thread and query from another.
"""
import math
import threading
from dataclasses import dataclass, field

from .spans import Edge


@dataclass
class EdgeStats:
    calls: int
    first_seen: float
    last_seen: float
    evidence: set = field(default_factory=set)


class ServiceGraph:
    def __init__(self, max_age: float = 6 * 3600.0, max_edges: int = 10_000):
        if max_age <= 0 or max_edges <= 0:
            raise ValueError(f"max_age and max_edges must be positive, got {max_age!r} and {max_edges!r}")
        self.max_age = max_age
        self.max_edges = max_edges
        self.edges_dropped = 0  # over max_edges; expiry by age is not counted
        self._edges: dict[tuple[str, str], EdgeStats] = {}
        self._newest = -math.inf
        self._lock = threading.Lock()

    # -- feeding -----------------------------------------------------------------------
    def add(self, edge: Edge) -> None:
        self.add_call(edge.caller, edge.callee, edge.time, edge.evidence)

    def add_all(self, edges) -> None:
        for edge in edges:
            self.add(edge)

    def add_call(self, caller: str, callee: str, at: float, evidence=(), calls: int = 1) -> None:
        """Record `calls` calls from caller to callee seen at event time `at`; self-calls are ignored."""
        if not caller or not callee or caller == callee or not math.isfinite(at):
            return
        with self._lock:
            stats = self._edges.get((caller, callee))
            if stats is None:
                stats = self._edges[(caller, callee)] = EdgeStats(0, at, at)
                if len(self._edges) > self.max_edges:
                    self._drop_least_recent()
            stats.calls += calls
            stats.first_seen = min(stats.first_seen, at)
            stats.last_seen = max(stats.last_seen, at)
            stats.evidence.update(evidence)
            self._newest = max(self._newest, at)

    def _drop_least_recent(self) -> None:
        oldest = min(self._edges, key=lambda pair: self._edges[pair].last_seen)
        del self._edges[oldest]
        self.edges_dropped += 1

    def expire(self, now: float | None = None) -> int:
        """Drop edges last seen more than max_age before `now` (default: the newest call seen)."""
        now = self._newest if now is None else now
        with self._lock:
            stale = [pair for pair, stats in self._edges.items() if stats.last_seen < now - self.max_age]
            for pair in stale:
                del self._edges[pair]
        return len(stale)

    def edge(self, caller: str, callee: str) -> EdgeStats | None:
        with self._lock:
            stats = self._edges.get((caller, callee))
            return None if stats is None else EdgeStats(stats.calls, stats.first_seen, stats.last_seen,
                                                        set(stats.evidence))

    def edges(self) -> dict[tuple[str, str], EdgeStats]:
        """A snapshot of every edge."""
        with self._lock:
            return {pair: EdgeStats(s.calls, s.first_seen, s.last_seen, set(s.evidence))
                    for pair, s in self._edges.items()}

    def __len__(self) -> int:
        return len(self._edges)
