"""The db-degradation scenario: db slows down first and the three services above it follow."""
import random

import numpy as np
import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from loadgen import otlp
from loadgen.cli import main
from loadgen.registry import SCENARIOS, get_scenario
from loadgen.series import Timeline
from loadgen.topology import CALLS, DB_POOL_MAX_CONNECTIONS
from loadgen.traces import step_traces

START = 1767225600  # 2026-01-01T00:00:00Z
HOUR = 3600
STEP = 60
UPSTREAM = ("checkout", "inventory", "frontend")


@pytest.fixture(scope="module")
def run():
    """Eight hours of the scenario at one-minute steps, as loadgen would send them."""
    scenario = get_scenario("db-degradation")
    batch = Timeline(scenario, START, STEP, seed=1).next_batch(8 * HOUR // STEP)
    return scenario, batch


def series(batch, service, metric, **labels):
    """The one series of `metric` from `service` with these labels."""
    found = [v for k, v in batch.values.items()
             if k.service == service and k.metric.name == metric and labels.items() <= dict(k.labels).items()]
    assert len(found) == 1, (service, metric, labels)
    return found[0]


def pool_used(batch, service):
    return series(batch, service, "db.client.connection.count", db_client_connection_state="used")


def mean_latency(batch, service):
    """Mean request duration per step, from the emitted cumulative histograms (both status codes)."""
    served = [h for k, h in batch.histograms.items()
              if k.service == service and k.metric.name == "http.server.request.duration"]
    assert len(served) == 2
    sums, counts = sum(h.sums for h in served), sum(h.counts for h in served)
    return np.diff(sums) / np.maximum(np.diff(counts), 1)


def onset(times, values, healthy_until):
    """First time after `healthy_until` the series leaves its healthy range by a clear margin."""
    healthy = values[times[: len(values)] < healthy_until]
    threshold = healthy.max() + 3 * healthy.std()
    after = (times[: len(values)] >= healthy_until) & (values > threshold)
    return int(times[: len(values)][after][0])


def test_listed_with_its_description(capsys):
    assert "db-degradation" in SCENARIOS
    assert main(["list"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("db-degradation"))
    assert "checkout" in line and "inventory" in line and "frontend" in line


def test_db_degrades_first_and_three_upstream_services_follow_within_minutes(run):
    scenario, batch = run
    times = batch.times
    healthy_until = START + 2 * HOUR  # degradation begins at ~3h
    starts = {
        "db": onset(times, series(batch, "db", "k8s.container.cpu_limit_utilization"), healthy_until),
        "checkout": onset(times, pool_used(batch, "checkout"), healthy_until),
        "inventory": onset(times, pool_used(batch, "inventory"), healthy_until),
        "frontend": onset(times[1:], mean_latency(batch, "frontend"), healthy_until),
    }
    for service in UPSTREAM:
        assert starts["db"] < starts[service], (service, starts)
        assert starts[service] - starts["db"] <= 30 * 60, (service, starts)
    # The upstream pools rise together with db, not hours later.
    assert max(starts.values()) - min(starts.values()) <= 30 * 60


def test_limits_are_reached_db_first_then_each_pool_and_all_recover(run):
    scenario, batch = run
    failures = scenario.failures(START, START + 8 * HOUR, 1)
    assert [(f.watched.service, f.watched.resource) for f in failures] == [
        ("db", "CPU"), ("checkout", "DB connection pool"), ("inventory", "DB connection pool")]
    assert [f.time for f in failures] == sorted(f.time for f in failures)
    assert failures[-1].time - failures[0].time <= 10 * 60
    times = batch.times
    cpu = series(batch, "db", "k8s.container.cpu_limit_utilization")
    at = times >= failures[0].time
    assert np.all(cpu[~at] < 1.0) and cpu[at][0] == 1.0
    for failure in failures[1:]:
        pool = pool_used(batch, failure.watched.service)
        at = times >= failure.time
        assert np.all(pool[~at] < DB_POOL_MAX_CONNECTIONS) and pool[at][0] == DB_POOL_MAX_CONNECTIONS
    # Hours later the system is healthy again.
    late = times > failures[-1].time + 2 * HOUR
    assert cpu[late].max() < 0.6
    assert pool_used(batch, "inventory")[late].max() < 40
    failed = next(h.counts for k, h in batch.histograms.items()
                  if k.service == "frontend" and dict(k.labels).get("http_response_status_code") == "500")
    assert failed[-1] > 0  # cumulative


def test_upstream_errors_rise_only_after_db_saturates(run):
    scenario, batch = run
    saturated = scenario.failure_times(START, START + 8 * HOUR, 1)[0]
    c = batch.conditions
    for service in UPSTREAM:
        before = c.error_ratio[service][batch.times < saturated - HOUR]
        during = c.error_ratio[service][(batch.times > saturated + 15 * 60) & (batch.times < saturated + 40 * 60)]
        assert before.max() < 0.02 and during.min() > 0.05, service


def test_db_query_spans_slow_down_with_the_degradation(run):
    scenario, batch = run
    saturated = scenario.failure_times(START, START + 8 * HOUR, 1)[0]
    spans = step_traces(batch, STEP, 1, random.Random(0))
    db = [(s.start, s.end - s.start) for s in spans if s.service == "db"]
    healthy = np.median([d for t, d in db if t < START + 2 * HOUR])
    slow = np.median([d for t, d in db if saturated <= t < saturated + 30 * 60])
    assert slow > 10 * healthy


def test_traces_give_the_service_graph_edges(run):
    from foresight.policy import incidents  # make test installs foresight beside loadgen
    scenario, batch = run
    # One step's spans per message, encoded as the OTLP exporter sends them, in loadgen's order.
    decoder, graph = incidents.SpanEdgeDecoder(), incidents.ServiceGraph()
    timeline, ids, traces = Timeline(scenario, START, STEP, seed=1), random.Random(0), set()
    for _ in range(30):
        plans = step_traces(timeline.next_batch(1), STEP, 1, ids)
        traces |= {p.trace_id for p in plans}
        graph.add_all(decoder.decode(encode_spans(otlp.spans(plans)).SerializeToString()))
    assert set(graph.edges()) == set(CALLS)
    assert not decoder.bad
    # Every traced call shows up once: each trace queries db from checkout and from inventory.
    assert len(traces) > 50
    assert graph.edge("checkout", "db").calls == graph.edge("inventory", "db").calls == len(traces)
