"""The end-to-end benchmark's parts that decide its figures: the fleet it sends, the held
verdict of a window, and the prediction from CPU per event."""
import sys
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scale"))
from e2e import _judge  # noqa: E402
from e2e_load import fleet_steps  # noqa: E402
from e2e_probe import Sample  # noqa: E402
from e2e_report import prediction  # noqa: E402


def test_fleet_copies_services_with_their_own_names_and_traces():
    steps = fleet_steps(copies=3, steps=4)
    metrics = ExportMetricsServiceRequest.FromString(steps[-1].bodies["metrics"])
    names = {kv.value.string_value for rm in metrics.resource_metrics for kv in rm.resource.attributes
             if kv.key == "service.name"}
    assert names == {f"{s}-c{c}" for s in ("frontend", "checkout", "payments", "inventory", "db") for c in range(3)}
    traces = ExportTraceServiceRequest.FromString(steps[-1].bodies["traces"])
    copy_of_trace = {}
    for rs in traces.resource_spans:
        copy = {kv.value.string_value for kv in rs.resource.attributes if kv.key == "service.name"}.pop()[-1]
        for ss in rs.scope_spans:
            for span in ss.spans:
                assert copy_of_trace.setdefault(span.trace_id, copy) == copy, "a trace mixes two copies"
    assert len(set(copy_of_trace.values())) == 3
    assert all(s.events["metrics"] > 0 for s in steps)


def _window(lag_gauge_end: float, accepted_end: float = 10.0) -> dict:
    start = Sample(0.0, 1000, 990, {"x": 0.0}, [(5.0, 10.0)])
    end = Sample(20.0, 3000, 2900, {"x": 10.0}, [(accepted_end, lag_gauge_end)])
    return _judge([start, end], offered=5000.0)


def test_a_window_is_held_only_if_the_lag_stays_bounded_and_every_replica_is_fed():
    assert _window(lag_gauge_end=60.0)["held"]
    assert not _window(lag_gauge_end=400.0)["held"], "lag grew by more than 5% of the 2000 messages"
    assert not _window(lag_gauge_end=10.0, accepted_end=5.0)["held"], "a replica accepted nothing"
    window = _window(lag_gauge_end=60.0)
    assert window["messages_per_s"] == 100.0 and window["cpu_cores"] == {"x": 0.5}
    assert window["consumed_events_per_s"] == round(1910 * 5000 * 20 / 2000 / 20)


def test_prediction_scales_cpu_per_event_to_more_cores():
    phases = [{"replicas": 2, "held_events_per_s": 10_000,
               "cpu_cores_at_held": {"replica-0": 0.3, "replica-1": 0.3, "broker (tansu)": 0.1,
                                     "collector (rotel)": 0.3, "bench (sender)": 0.5}}]
    pred = prediction(phases, cores=2)
    assert pred["replica_cpu_us_per_event"] == 60.0 and pred["pipeline_cpu_us_per_event"] == 40.0
    assert pred["predicted"] == {2: 20_000, 8: 80_000, 16: 160_000, 32: 320_000}
    assert prediction([{"replicas": 1, "held_events_per_s": 0, "cpu_cores_at_held": {}}], cores=2) is None
