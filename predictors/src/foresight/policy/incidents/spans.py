"""Caller -> callee service edges from OTLP traces.

A call shows up as a span whose parent span belongs to another service. Parent and child
often arrive in different messages (children usually end, and are exported, first), so the
decoder remembers recent spans (span id -> service) and children still waiting for their
parent, both bounded in size and in event-time age. A CLIENT span naming its callee with
`peer.service` or `db.system` is an edge on its own.

Services are named as the `service` label of predictions (`job`: `namespace/name` or
`name`), so graph and predictions speak of the same services.
"""
import math
import statistics
from collections import Counter, OrderedDict
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from foresight.sources.otlp import resource_labels

SERVER, CLIENT = Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT
_PEER_ATTRIBUTES = ("peer.service",)
# Older and newer semantic-convention names of the database system.
_DB_ATTRIBUTES = ("db.system", "db.system.name")


@dataclass(frozen=True)
class Edge:
    """One observed call from `caller` to `callee` at `time` (event time, unix seconds)."""
    caller: str
    callee: str
    time: float
    evidence: frozenset  # "parent", "client_span", "server_span", "peer.service", "db.system"


@dataclass
class _Known:
    service: str
    time: float
    client: bool  # a CLIENT span: the caller's side of a call
    # The callee this CLIENT span already named via an attribute, so its server-side child
    # does not count the same call twice.
    named_callee: str | None


@dataclass
class _Waiting:
    service: str
    time: float
    evidence: frozenset


class SpanEdgeDecoder:
    """Feed it OTLP trace payloads in arrival order; each `decode` returns the edges it could resolve.

    `max_age` (seconds of event time) bounds how long a span id is remembered and how long a
    child waits for its parent; `max_spans` bounds each map's size. Bad input is counted in
    `bad` by reason, never raised; `stats` counts the rest of what happened to spans.
    """

    def __init__(self, max_age: float = 600.0, max_spans: int = 100_000):
        if max_age <= 0 or max_spans <= 0:
            raise ValueError(f"max_age and max_spans must be positive, got {max_age!r} and {max_spans!r}")
        self.max_age = max_age
        self.max_spans = max_spans
        self.bad = Counter()
        self.stats = Counter()
        self._known: OrderedDict[bytes, _Known] = OrderedDict()  # trace id + span id -> span
        self._waiting: OrderedDict[bytes, list[_Waiting]] = OrderedDict()  # parent's trace + span id -> children
        self._newest = -math.inf  # event time the memory is aged against
        self._message_times: list[float] = []

    def decode(self, payload: bytes) -> list[Edge]:
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(payload)
        except DecodeError:
            self.bad["malformed_protobuf"] += 1
            return []
        return self.decode_request(request)

    def decode_request(self, request: ExportTraceServiceRequest) -> list[Edge]:
        """The edges of an already parsed request (the engine parses each payload once)."""
        edges: list[Edge] = []
        self._message_times = []
        for resource_spans in request.resource_spans:
            service = resource_labels(resource_spans.resource).get("job", "")
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if not service:
                        self.bad["span_without_service_name"] += 1
                        continue
                    self._span(service, span, edges)
        if self._message_times:
            # The message's median time moves the clock, so one span stamped far in the
            # future cannot make everything remembered look stale.
            self._newest = max(self._newest, statistics.median(self._message_times))
        self._expire()
        return edges

    def _span(self, service: str, span, edges: list[Edge]) -> None:
        if len(span.trace_id) != 16 or not any(span.trace_id):
            self.bad["invalid_trace_id"] += 1
            return
        if len(span.span_id) != 8 or not any(span.span_id):
            self.bad["invalid_span_id"] += 1
            return
        if span.parent_span_id and len(span.parent_span_id) != 8:
            self.bad["invalid_parent_span_id"] += 1
            return
        nanos = span.end_time_unix_nano or span.start_time_unix_nano
        if not nanos:
            self.bad["span_without_time"] += 1
            return
        time = nanos / 1e9
        self._message_times.append(time)
        self.stats["spans"] += 1

        # Only a CLIENT span names its callee; other spans' attributes are not read (cost).
        named_callee, named_by = self._named_callee(span) if span.kind == CLIENT else (None, None)
        if named_callee and named_callee != service:
            edges.append(Edge(service, named_callee, time, frozenset({named_by, "client_span"})))
        key = span.trace_id + span.span_id
        self._remember(key, _Known(service, time, span.kind == CLIENT, named_callee))

        own = frozenset({"server_span"}) if span.kind == SERVER else frozenset()
        if span.parent_span_id and any(span.parent_span_id):
            parent_key = span.trace_id + span.parent_span_id
            parent = self._known.get(parent_key)
            if parent is None:
                self._wait(parent_key, _Waiting(service, time, own))
            else:
                self._link(parent, service, time, own, edges)
        # Children that arrived before this span can now be linked to it.
        for child in self._waiting.pop(key, ()):
            self._link(self._known[key], child.service, child.time, child.evidence, edges)

    def _link(self, parent: _Known, child_service: str, time: float, evidence: frozenset, edges: list[Edge]):
        if parent.service == child_service:
            return
        if parent.named_callee == child_service:
            self.stats["edges_confirmed_by_parent"] += 1
            return
        if parent.client:
            evidence = evidence | {"client_span"}
        edges.append(Edge(parent.service, child_service, time, evidence | {"parent"}))

    @staticmethod
    def _named_callee(span) -> tuple[str | None, str | None]:
        values = {kv.key: kv.value.string_value for kv in span.attributes if kv.value.HasField("string_value")}
        for name in _PEER_ATTRIBUTES + _DB_ATTRIBUTES:
            if values.get(name):
                return values[name], ("peer.service" if name in _PEER_ATTRIBUTES else "db.system")
        return None, None

    def _remember(self, key: bytes, known: _Known) -> None:
        self._known[key] = known
        self._known.move_to_end(key)
        if len(self._known) > self.max_spans:
            self._known.popitem(last=False)
            self.stats["spans_forgotten_over_size"] += 1

    def _wait(self, parent_key: bytes, child: _Waiting) -> None:
        self._waiting.setdefault(parent_key, []).append(child)
        if len(self._waiting) > self.max_spans:
            _, dropped = self._waiting.popitem(last=False)
            self.stats["children_dropped_over_size"] += len(dropped)

    def _expire(self) -> None:
        """Forget spans and waiting children older than max_age behind the newest event time.

        Maps are in arrival order, which roughly follows event time, so this scans only the
        old front of each map.
        """
        horizon = self._newest - self.max_age
        while self._known:
            key, known = next(iter(self._known.items()))
            if known.time >= horizon:
                break
            del self._known[key]
        while self._waiting:
            key, children = next(iter(self._waiting.items()))
            if max(c.time for c in children) >= horizon:
                break
            del self._waiting[key]
            self.stats["children_without_parent"] += len(children)

    def remembered(self) -> tuple[int, int]:
        """(spans remembered, parents awaited): the memory the decoder holds."""
        return len(self._known), len(self._waiting)
