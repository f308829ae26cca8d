"""Incidents across replicas: what each replica of a consumer group shares with the others
through the PostgreSQL state store.

Traces are keyed by trace id, so both sides of a call reach the same replica, and each
replica sees a share of the calls; targets are predicted where their partitions are. So
every few seconds each replica writes its targets at risk and the calls it has seen (one
row, `foresight_member`) and reads the other replicas' rows: their calls go into its
service graph, their targets at risk are correlated with its own (IncidentTracker), and it
publishes the incidents of its own targets only. A row not rewritten for `expire` seconds
(a replica that was killed) is ignored. The copy is made on the consumer thread and the
store is written and read on a worker thread.
"""
import json
import logging
import math
import time
import uuid

from foresight.lifecycle import StoreError, open_store
from foresight.policy.incidents import AtRisk

from .background import Worker

log = logging.getLogger(__name__)


def parse_member(document: str) -> tuple[list, list]:
    """(targets at risk, calls) of another replica's row; entries that do not parse are skipped."""
    try:
        shared = json.loads(document)
    except ValueError:
        return [], []
    at_risk, calls = [], []
    for entry in shared.get("at_risk", []) if isinstance(shared, dict) else []:
        try:
            predictor, labels, service, level, started_at, kind = entry
            key = (str(predictor), tuple((str(k), str(v)) for k, v in labels))
            at_risk.append(AtRisk(key, str(service), int(level), float(started_at), str(kind)))
        except (TypeError, ValueError):
            continue
    for entry in shared.get("calls", []) if isinstance(shared, dict) else []:
        try:
            caller, callee, last_seen = entry
            calls.append((str(caller), str(callee), float(last_seen)))
        except (TypeError, ValueError):
            continue
    return at_risk, calls


class PeerIncidents:
    def __init__(self, engine, location: str, group: str, every: float = 5.0, expire: float = 60.0):
        self.engine, self.group, self.every, self.expire = engine, group, every, expire
        self.member = uuid.uuid4().hex
        self.store = open_store(location)
        self.worker = Worker("peer-incidents", self._exchange, max_pending=2)
        self._last = -math.inf
        self._latest = None  # (at_risk, calls) read from the others, set by the worker
        self.failed = 0

    def tick(self):
        """After an evaluation, on the consumer thread: share now and then, take what was read."""
        now = time.monotonic()
        if now - self._last >= self.every and self.worker.pending() == 0:
            self._last = now
            self.worker.submit(json.dumps(self.engine.incidents.shared(), separators=(",", ":")))
        latest, self._latest = self._latest, None
        if latest is not None:
            at_risk, calls = latest
            self.engine.incidents.take_peer_calls(calls)
            self.engine.peers_at_risk = at_risk

    def _exchange(self, documents: list):
        try:
            rows = self.store.exchange(self.group, self.member, documents[-1], time.time() - self.expire)
        except StoreError as exc:
            self.failed += 1
            log.warning("%s (incidents use this replica's targets only until it works again)", exc)
            return
        at_risk, calls = [], []
        for _, document in rows:
            theirs = parse_member(document)
            at_risk += theirs[0]
            calls += theirs[1]
        self._latest = (at_risk, calls)

    def close(self, timeout: float | None = None):
        """Remove this replica's row (the others stop counting its targets at once)."""
        self.worker.submit("")
        self.worker.close(timeout)
        self.store.close()


__all__ = ["PeerIncidents", "parse_member"]
