"""Incidents: service-graph edges from real OTLP trace protobuf, the graph, and correlation."""
import calendar
import logging

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from foresight.policy.incidents import AtRisk, IncidentCorrelator, ServiceGraph, SpanEdgeDecoder

NS = 10**9
T0 = calendar.timegm((2026, 11, 22, 14, 5, 0))  # 2026-11-22T14:05:00Z
MINUTE = 60


def trace_id(n: int) -> bytes:
    return n.to_bytes(16, "big")


def span_id(n: int) -> bytes:
    return n.to_bytes(8, "big")


def payload(spans_by_service: dict, namespace: str | None = None) -> bytes:
    """spans_by_service: service -> [dict(trace, span, parent, t, kind, attrs)]; one resource per service."""
    request = ExportTraceServiceRequest()
    for service, spans in spans_by_service.items():
        resource_spans = request.resource_spans.add()
        if service is not None:
            resource_spans.resource.attributes.add(key="service.name").value.string_value = service
        if namespace:
            resource_spans.resource.attributes.add(key="service.namespace").value.string_value = namespace
        scope = resource_spans.scope_spans.add()
        for s in spans:
            span = scope.spans.add(name="op", trace_id=s.get("trace_id", trace_id(s.get("trace", 1))),
                                   span_id=s.get("span_id", span_id(s["span"])),
                                   start_time_unix_nano=int((s.get("t", T0) - 0.1) * NS) if s.get("t", T0) else 0,
                                   end_time_unix_nano=int(s.get("t", T0) * NS) if s.get("t", T0) else 0,
                                   kind=s.get("kind", Span.SPAN_KIND_SERVER))
            if "parent" in s:
                span.parent_span_id = s["parent"] if isinstance(s["parent"], bytes) else span_id(s["parent"])
            for key, value in s.get("attrs", {}).items():
                span.attributes.add(key=key).value.string_value = value
    return request.SerializeToString()


def pairs(edges) -> set:
    return {(e.caller, e.callee) for e in edges}


# -- spans.py --------------------------------------------------------------------------

def test_parent_child_across_services_in_one_message_gives_caller_callee_edges():
    decoder = SpanEdgeDecoder()
    edges = decoder.decode(payload({
        "frontend": [dict(span=1)],
        "checkout": [dict(span=2, parent=1), dict(span=3, parent=2, kind=Span.SPAN_KIND_INTERNAL)],
        "db": [dict(span=4, parent=2)],
    }))
    # checkout's internal child span stays inside checkout: no edge.
    assert pairs(edges) == {("frontend", "checkout"), ("checkout", "db")}
    assert all(e.evidence == {"parent", "server_span"} for e in edges)
    assert all(e.time == T0 for e in edges)
    assert not decoder.bad


@pytest.mark.parametrize("parent_first", [True, False])
def test_parent_in_another_message_is_resolved_whichever_arrives_first(parent_first):
    decoder = SpanEdgeDecoder()
    parent = payload({"checkout": [dict(trace=7, span=10)]})
    child = payload({"db": [dict(trace=7, span=11, parent=10, t=T0 + 1)]})
    first, second = (parent, child) if parent_first else (child, parent)
    assert decoder.decode(first) == []
    edges = decoder.decode(second)
    assert pairs(edges) == {("checkout", "db")}
    assert edges[0].time == T0 + 1  # the child's time: when the call was seen
    assert decoder.remembered()[1] == 0  # nothing still waiting


def test_same_span_id_in_another_trace_is_not_a_parent():
    decoder = SpanEdgeDecoder()
    decoder.decode(payload({"checkout": [dict(trace=1, span=10)]}))
    assert decoder.decode(payload({"db": [dict(trace=2, span=11, parent=10)]})) == []


def test_client_span_naming_its_callee_is_an_edge_counted_once_with_its_server_child():
    decoder = SpanEdgeDecoder()
    client = dict(span=20, kind=Span.SPAN_KIND_CLIENT, attrs={"peer.service": "payments"})
    edges = decoder.decode(payload({"checkout": [client]}))
    assert pairs(edges) == {("checkout", "payments")}
    assert edges[0].evidence == {"peer.service", "client_span"}
    # The server side of the same call confirms the edge without counting the call again.
    assert decoder.decode(payload({"payments": [dict(span=21, parent=20)]})) == []
    assert decoder.stats["edges_confirmed_by_parent"] == 1


def test_client_span_without_attributes_is_evidence_for_its_server_child():
    decoder = SpanEdgeDecoder()
    decoder.decode(payload({"checkout": [dict(span=40, kind=Span.SPAN_KIND_CLIENT)]}))
    edges = decoder.decode(payload({"payments": [dict(span=41, parent=40)]}))
    assert pairs(edges) == {("checkout", "payments")}
    assert edges[0].evidence == {"parent", "client_span", "server_span"}

def test_uninstrumented_database_is_named_by_db_system():
    decoder = SpanEdgeDecoder()
    client = dict(span=30, kind=Span.SPAN_KIND_CLIENT, attrs={"db.system.name": "postgresql"})
    edges = decoder.decode(payload({"inventory": [client]}))
    assert pairs(edges) == {("inventory", "postgresql")} and edges[0].evidence == {"db.system", "client_span"}


def test_services_are_named_like_the_predictions_service_label():
    decoder = SpanEdgeDecoder()
    edges = decoder.decode(payload({"frontend": [dict(span=1)], "checkout": [dict(span=2, parent=1)]},
                                   namespace="shop"))
    assert pairs(edges) == {("shop/frontend", "shop/checkout")}


def test_bad_spans_are_counted_by_reason_and_good_ones_still_decoded():
    decoder = SpanEdgeDecoder()
    assert decoder.decode(b"\xff\xff not protobuf") == []
    edges = decoder.decode(payload({
        None: [dict(span=1)],  # resource without service.name
        "frontend": [dict(span=2),
                     dict(span_id=b"\x01\x02", span=0),  # short span id
                     dict(trace_id=b"", span=3),  # no trace id
                     dict(span=4, t=0)],  # no timestamps
        "checkout": [dict(span=5, parent=2), dict(span=6, parent=b"\x01")],  # second: parent id too short
    }))
    assert pairs(edges) == {("frontend", "checkout")}
    assert decoder.bad == {"malformed_protobuf": 1, "span_without_service_name": 1, "invalid_span_id": 1,
                           "invalid_trace_id": 1, "span_without_time": 1, "invalid_parent_span_id": 1}


def test_children_wait_for_their_parent_only_so_long_in_event_time():
    decoder = SpanEdgeDecoder(max_age=300)
    decoder.decode(payload({"db": [dict(trace=1, span=2, parent=1, t=T0)]}))
    assert decoder.remembered() == (1, 1)
    # Ten minutes of other traffic later the orphan is given up, and so is the db span.
    decoder.decode(payload({"payments": [dict(trace=9, span=99, t=T0 + 600)]}))
    assert decoder.stats["children_without_parent"] == 1
    assert decoder.remembered() == (1, 0)
    assert decoder.decode(payload({"checkout": [dict(trace=1, span=1, t=T0 + 601)]})) == []



def test_one_span_stamped_far_in_the_future_does_not_age_out_the_rest():
    decoder = SpanEdgeDecoder(max_age=300)
    decoder.decode(payload({"checkout": [dict(trace=1, span=1)]}))
    decoder.decode(payload({"frontend": [dict(trace=5, span=50, t=T0 + 10), dict(trace=6, span=60, t=T0 + 11),
                                         dict(trace=7, span=70, t=T0 + 86400 * 365)]}))
    assert pairs(decoder.decode(payload({"db": [dict(trace=1, span=2, parent=1, t=T0 + 20)]}))) == {("checkout", "db")}

def test_memory_is_bounded_by_max_spans():
    decoder = SpanEdgeDecoder(max_spans=10)
    for n in range(1, 51):
        decoder.decode(payload({"checkout": [dict(trace=n, span=n, parent=1000 + n)]}))
    known, waiting = decoder.remembered()
    assert known <= 10 and waiting <= 10
    assert decoder.stats["children_dropped_over_size"] == 40


# -- graph.py --------------------------------------------------------------------------

def test_graph_counts_calls_and_answers_neighbours():
    graph = ServiceGraph()
    for caller, callee in [("frontend", "checkout"), ("checkout", "db"), ("inventory", "db"), ("checkout", "db")]:
        graph.add_call(caller, callee, T0)
    graph.add_call("db", "db", T0)  # a service calling itself is no edge
    assert graph.edge("checkout", "db").calls == 2
    assert set(graph.edges()) == {("frontend", "checkout"), ("checkout", "db"), ("inventory", "db")}
    assert len(graph) == 3


def test_stale_edges_expire_and_size_is_bounded():
    graph = ServiceGraph(max_age=3600, max_edges=3)
    graph.add_call("old", "db", T0)
    graph.add_call("checkout", "db", T0 + 3000)
    assert graph.expire(T0 + 3601) == 1
    assert set(graph.edges()) == {("checkout", "db")}
    # Refreshing an edge keeps it alive.
    graph.add_call("checkout", "db", T0 + 7000)
    assert graph.expire(T0 + 7200) == 0
    for n in range(5):
        graph.add_call(f"caller{n}", "db", T0 + 8000 + n)
    assert len(graph) == 3 and graph.edges_dropped == 3
    assert {caller for caller, callee in graph.edges() if callee == "db"} == {"caller2", "caller3", "caller4"}


def test_decoded_edges_feed_the_graph_with_evidence():
    decoder, graph = SpanEdgeDecoder(), ServiceGraph()
    graph.add_all(decoder.decode(payload({"frontend": [dict(span=1)], "checkout": [dict(span=2, parent=1)]})))
    assert graph.edge("frontend", "checkout").evidence == {"parent", "server_span"}


# -- correlate.py ----------------------------------------------------------------------

def shop_graph() -> ServiceGraph:
    graph = ServiceGraph()
    for caller, callee in [("frontend", "checkout"), ("frontend", "inventory"), ("checkout", "db"),
                           ("inventory", "db"), ("checkout", "payments")]:
        graph.add_call(caller, callee, T0)
    return graph


def at_risk(service, minutes, predictor="p", level=2):
    return AtRisk(key=(predictor, (("service", service),)), service=service, level=level,
                  started_at=T0 + minutes * MINUTE)


def test_db_and_three_upstream_services_become_one_incident_rooted_at_db():
    correlator = IncidentCorrelator(shop_graph())
    # The upstream services' predictions start first here: the root cause is by position, not order.
    entries = [at_risk("frontend", 0), at_risk("checkout", 4), at_risk("inventory", 7), at_risk("db", 10, "cpu")]
    result = correlator.update(entries, now=T0 + 12 * MINUTE)
    incidents = {i.id for i in result.values()}
    assert len(incidents) == 1
    incident = next(iter(result.values()))
    assert incident.root_cause == "db"
    assert incident.id == "db-20261122T1405"  # named after its root cause and first start
    assert incident.started_at == T0
    assert sorted(incident.members) == sorted(e.key for e in entries)


def test_an_unrelated_service_at_the_same_time_gets_its_own_incident():
    graph = shop_graph()
    graph.add_call("batch", "warehouse", T0)
    correlator = IncidentCorrelator(graph)
    entries = [at_risk("db", 0), at_risk("checkout", 3), at_risk("warehouse", 1)]
    result = correlator.update(entries, now=T0 + 5 * MINUTE)
    assert result[entries[0].key].id == result[entries[1].key].id == "db-20261122T1405"
    assert result[entries[2].key].id == "warehouse-20261122T1406"
    assert result[entries[2].key].root_cause == "warehouse" and result[entries[2].key].members == [entries[2].key]


def test_services_are_joined_only_through_services_also_at_risk():
    correlator = IncidentCorrelator(shop_graph())
    # frontend reaches db only through checkout or inventory, neither at risk.
    result = correlator.update([at_risk("frontend", 0), at_risk("db", 1)], now=T0 + 2 * MINUTE)
    assert len({i.id for i in result.values()}) == 2
    # Once checkout is at risk too, the two merge into the incident of the root-cause candidate.
    result = correlator.update([at_risk("frontend", 0), at_risk("db", 1), at_risk("checkout", 2)],
                               now=T0 + 3 * MINUTE)
    assert {(i.id, i.root_cause, i.started_at) for i in result.values()} == {("db-20261122T1406", "db", T0)}
    assert [i.id for i in correlator.open_incidents()] == ["db-20261122T1406"]


def test_a_new_edge_in_the_graph_merges_incidents_already_open():
    graph = ServiceGraph()
    correlator = IncidentCorrelator(graph)
    correlator.update([at_risk("checkout", 0), at_risk("db", 3)], now=T0 + 5 * MINUTE)
    assert len(correlator.open_incidents()) == 2
    graph.add_call("checkout", "db", T0 + 5 * MINUTE)
    result = correlator.update([at_risk("checkout", 0), at_risk("db", 3)], now=T0 + 6 * MINUTE)
    assert {(i.id, i.root_cause) for i in result.values()} == {("db-20261122T1408", "db")}


def test_late_joiner_joins_and_the_id_stays_while_the_root_cause_moves():
    correlator = IncidentCorrelator(shop_graph(), window=30 * MINUTE)
    first = correlator.update([at_risk("checkout", 0)], now=T0)
    incident_id = first[at_risk("checkout", 0).key].id
    assert incident_id == "checkout-20261122T1405"
    # db starts 20 min later: within the window, so it joins; it becomes the root-cause candidate.
    now = [at_risk("checkout", 0), at_risk("db", 20), at_risk("frontend", 25)]
    result = correlator.update(now, now=T0 + 25 * MINUTE)
    assert {i.id for i in result.values()} == {incident_id}
    assert result[at_risk("db", 20).key].root_cause == "db"
    # checkout recovers; db and frontend stay in the incident they joined.
    result = correlator.update(now[1:], now=T0 + 40 * MINUTE)
    assert {i.id for i in result.values()} == {incident_id}
    assert sorted(next(iter(result.values())).members) == sorted(e.key for e in now[1:])


def test_a_prediction_starting_outside_the_window_opens_its_own_incident():
    correlator = IncidentCorrelator(shop_graph(), window=30 * MINUTE)
    correlator.update([at_risk("db", 0)], now=T0)
    result = correlator.update([at_risk("db", 0), at_risk("checkout", 45)], now=T0 + 45 * MINUTE)
    assert result[at_risk("db", 0).key].id != result[at_risk("checkout", 45).key].id


def test_incident_closes_when_all_recover_and_a_new_episode_opens_a_new_one(caplog):
    correlator = IncidentCorrelator(shop_graph())
    with caplog.at_level(logging.INFO, logger="foresight.policy.incidents.correlate"):
        correlator.update([at_risk("db", 0)], now=T0)
        assert correlator.update([], now=T0 + 10 * MINUTE) == {}
    assert correlator.open_incidents() == []
    assert "incident db-20261122T1405 closed" in caplog.text
    result = correlator.update([at_risk("db", 120)], now=T0 + 120 * MINUTE)
    assert result[at_risk("db", 120).key].id == "db-20261122T1605"


def test_two_unrelated_incidents_named_alike_get_distinct_ids():
    # With no window, two predictions on db 30 s apart are not related, yet share root and minute.
    correlator = IncidentCorrelator(ServiceGraph(), window=0)
    cpu, disk = at_risk("db", 0, "cpu"), at_risk("db", 0.5, "disk")
    result = correlator.update([cpu, disk], now=T0 + MINUTE)
    assert {result[cpu.key].id, result[disk.key].id} == {"db-20261122T1405", "db-20261122T1405-2"}


def test_root_cause_tie_goes_to_the_earliest_start():
    graph = ServiceGraph()
    graph.add_call("a", "b", T0)
    graph.add_call("b", "a", T0)  # a cycle: neither is more downstream
    result = IncidentCorrelator(graph).update([at_risk("a", 5), at_risk("b", 2)], now=T0 + 6 * MINUTE)
    assert next(iter(result.values())).root_cause == "b"


def test_malformed_at_risk_entries_are_counted_and_skipped():
    correlator = IncidentCorrelator(shop_graph())
    good = at_risk("db", 0)
    bad = [at_risk("", 0), at_risk("checkout", 0, level=0), "not an entry",
           AtRisk(key=["list"], service="x", level=2, started_at=T0),
           AtRisk(key=("k",), service="x", level=2, started_at=float("nan"))]
    result = correlator.update([good] + bad, now=T0)
    assert list(result) == [good.key]
    assert correlator.skipped == {"missing_service": 1, "not_at_risk": 1, "not_an_at_risk_entry": 1,
                                  "key_not_a_tuple": 1, "bad_started_at": 1}


def test_window_must_be_a_non_negative_number():
    with pytest.raises(ValueError, match="window"):
        IncidentCorrelator(ServiceGraph(), window=-1)


def test_end_to_end_from_trace_payloads_to_one_incident():
    decoder, graph = SpanEdgeDecoder(), ServiceGraph()
    n = 0
    for trace in range(1, 4):
        n += 10
        graph.add_all(decoder.decode(payload({
            "db": [dict(trace=trace, span=n + 3, parent=n + 2), dict(trace=trace, span=n + 5, parent=n + 4)],
            "inventory": [dict(trace=trace, span=n + 4, parent=n + 1)],
        })))
        graph.add_all(decoder.decode(payload({
            "frontend": [dict(trace=trace, span=n + 1)],
            "checkout": [dict(trace=trace, span=n + 2, parent=n + 1)],
        })))
    assert set(graph.edges()) == {("frontend", "checkout"), ("frontend", "inventory"), ("checkout", "db"),
                                  ("inventory", "db")}
    assert graph.edge("checkout", "db").calls == 3
    entries = [at_risk("db", 0), at_risk("checkout", 5), at_risk("inventory", 8), at_risk("frontend", 12)]
    result = IncidentCorrelator(graph).update(entries, now=T0 + 15 * MINUTE)
    assert {(i.id, i.root_cause) for i in result.values()} == {("db-20261122T1405", "db")}

