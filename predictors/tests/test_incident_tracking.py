"""The engine's incident tracker: at-risk predictions on services that call each other
share one incident; a target related to no other is its own incident."""
from foresight.contracts.predictions import Prediction
from foresight.policy.incidents.tracker import IncidentTracker

T0 = 1_767_225_600.0


def at(service, t, level=2, predictor="db-pool"):
    return Prediction(predictor=predictor, labels={"service": service}, timestamp=t, observed=1.0, risk_level=level)


def test_callers_of_a_degraded_service_join_its_incident_and_strangers_do_not():
    tracker = IncidentTracker()
    tracker.graph.add_call("checkout", "db", T0)
    tracker.graph.add_call("inventory", "db", T0)
    first = [at("db", T0, predictor="db-cpu"), at("batch", T0, predictor="disk")]
    tracker.assign(first)
    later = [at("db", T0 + 300, predictor="db-cpu"), at("checkout", T0 + 300), at("inventory", T0 + 600),
             at("batch", T0 + 600, predictor="disk")]
    tracker.assign(later)
    incidents = {p.labels["service"]: p.incident for p in later}
    assert incidents["checkout"] == incidents["inventory"] == incidents["db"]
    assert incidents["db"][1] == "db"  # the root-cause candidate: the service the others call
    assert incidents["batch"] == ("batch-20260101T0000", "batch")  # alone: its own incident, stable id


def test_a_target_that_leaves_risk_leaves_its_incident():
    tracker = IncidentTracker()
    p = at("batch", T0)
    tracker.assign([p])
    assert p.incident is not None
    calm = at("batch", T0 + 60, level=0)
    tracker.assign([calm])
    assert calm.incident is None


def test_the_engine_builds_the_service_graph_from_trace_payloads():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    from foresight.config import parse_config
    from foresight.runtime.engine import Engine

    request = ExportTraceServiceRequest()
    for service, span_id, parent in (("frontend", b"\x01" * 8, b""), ("checkout", b"\x02" * 8, b"\x01" * 8)):
        rs = request.resource_spans.add()
        rs.resource.attributes.add(key="service.name").value.string_value = service
        rs.scope_spans.add().spans.add(trace_id=b"\x09" * 16, span_id=span_id, parent_span_id=parent, name="call",
                                       start_time_unix_nano=int(T0 * 1e9), end_time_unix_nano=int((T0 + 1) * 1e9))
    engine = Engine(parse_config("predictors:\n  - name: m\n    kind: exhaustion\n    series: used\n    limit: 1\n"))
    engine.ingest("traces", request.SerializeToString())
    engine.ingest("traces", b"\xff not protobuf")
    assert {callee for caller, callee in engine.incidents.graph.edges() if caller == "frontend"} == {"checkout"}
    assert engine.bad_input()["malformed_protobuf"] == 1  # counted once, though two parts read traces
