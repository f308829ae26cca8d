"""The OpenTelemetry example config, fed OTLP payloads as the collector writes them to Kafka.

Instrumented services send the semantic conventions' metrics (db.client.connection.* as
up-down counters split by pool and state, http.server.request.duration as a cumulative
histogram by route and status code); hosts send what the hostmetrics receiver sends
(system.filesystem.usage and system.filesystem.inodes.usage by state,
system.filesystem.utilization once enabled). Every 15 s,
several series per instance, through Engine.ingest.
"""
import math
import random
import zlib
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from foresight.config import load_config
from foresight.runtime.engine import Engine

EXAMPLES = Path(__file__).resolve().parents[1] / "config" / "examples"
START = 1767225600  # 2026-01-01T00:00:00Z
STEP = 15
HOUR = 3600
GIB = 2**30
NS = 10**9
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)  # the conventions' advice

# (service, instance, pool, max, used at START, full at or None)
POOLS = [("checkout", "checkout-0", "db:5432/orders", 100, 10, START + 10 * HOUR),
         ("checkout", "checkout-0", "db-replica:5432/orders", 20, 4, None),
         ("inventory", "inventory-0", "db:5432/inventory", 50, 8, None)]
# (route, method, requests per second, median seconds, the median from LATENCY_STEP on)
ROUTES = [("/api/checkout", "POST", 20.0, 0.06, 0.30), ("/api/cart", "GET", 50.0, 0.02, 0.02)]
LATENCY_STEP = START + 6 * HOUR
# hostmetrics: (host, device, type, mountpoint, size, used at START, full at or None)
FILESYSTEMS = [("db-host-1", "/dev/nvme0n1p2", "ext4", "/", 100 * GIB, 40 * GIB, None),
               ("db-host-1", "/dev/nvme1n1", "ext4", "/var/lib/postgresql", 500 * GIB, 300 * GIB, START + 10 * HOUR),
               ("db-host-1", "tmpfs", "tmpfs", "/run", 4 * GIB, 1 * GIB, START + 9 * HOUR),
               ("db-host-2", "/dev/nvme0n1p2", "ext4", "/", 100 * GIB, 55 * GIB, None)]
RESERVED = 0.05  # ext4's root reserve, as a share of the size
INODES = 6_553_600
INODES_EMPTY = {("db-host-2", "/"): (START + 14 * HOUR)}  # small files pile up there; its bytes do not move
# JVMs (the Java agent's jvm.memory.*, G1): (service, instance, max heap, live share at START,
# live set at the max at or None, restarted at or None). checkout leaks at a steady rate;
# inventory's live set follows its daily load; catalog restarts at 2 h and warms its caches up again.
JVMS = [("checkout", "checkout-0", 2 * GIB, 0.35, START + 14 * HOUR, None),
        ("inventory", "inventory-0", 1 * GIB, 0.40, None, None),
        ("catalog", "catalog-0", 4 * GIB, 0.30, None, START + 2 * HOUR)]
OLD_GC_EVERY = 20 * 60  # mixed collections of the old generation; its after-GC figure moves only then


def noise(t: int, seed: str) -> float:
    """A standard normal draw fixed by (t, seed)."""
    return random.Random(zlib.crc32(f"{seed}/{t}".encode())).gauss(0.0, 1.0)


def daily(t: int) -> float:
    """Load through the day: 1 at its mean, +-30%."""
    return 1.0 + 0.3 * math.sin(2 * math.pi * (t % 86400) / 86400)


def _attributes(point, attributes: dict):
    for key, value in attributes.items():
        point.attributes.add(key=key).value.string_value = value


def _resource(request, service: str, instance: str):
    rm = request.resource_metrics.add()
    for key, value in (("service.name", service), ("service.instance.id", instance), ("host.name", instance)):
        rm.resource.attributes.add(key=key).value.string_value = value
    return rm.scope_metrics.add()


def _up_down(scope, name: str, unit: str):
    metric = scope.metrics.add(name=name, unit=unit)
    metric.sum.is_monotonic = False
    metric.sum.aggregation_temporality = CUMULATIVE
    return metric.sum.data_points


def pool_payload(times) -> bytes:
    request = ExportMetricsServiceRequest()
    for service, instance in sorted({(p[0], p[1]) for p in POOLS}):
        scope = _resource(request, service, instance)
        count = _up_down(scope, "db.client.connection.count", "{connection}")
        limit = _up_down(scope, "db.client.connection.max", "{connection}")
        for svc, _, pool, size, used, full_at in POOLS:
            if svc != service:
                continue
            for t in times:
                share = (t - START) / (full_at - START) if full_at else 0.0
                now = min(size - 1, max(1, round(used + (size - used) * share + noise(t, pool))))
                for state, value in (("used", now), ("idle", min(10, size - now))):
                    dp = count.add(time_unix_nano=t * NS, start_time_unix_nano=START * NS, as_int=value)
                    _attributes(dp, {"db.client.connection.pool.name": pool, "db.client.connection.state": state})
                dp = limit.add(time_unix_nano=t * NS, start_time_unix_nano=START * NS, as_int=size)
                _attributes(dp, {"db.client.connection.pool.name": pool})
    return request.SerializeToString()


def _bucket_counts(count: int, median: float) -> list:
    """Cumulative-since-start counts per bucket of log-normal durations, adding up to `count`."""
    edges = [0.0] + [0.5 * (1 + math.erf(math.log(b / median) / (0.45 * math.sqrt(2)))) for b in BOUNDS] + [1.0]
    cumulative = [round(e * count) for e in edges]
    return [b - a for a, b in zip(cumulative, cumulative[1:])]


def http_payload(times, totals: dict) -> bytes:
    """checkout's http.server.request.duration; `totals` carries the cumulative state between calls."""
    request = ExportMetricsServiceRequest()
    scope = _resource(request, "checkout", "checkout-0")
    metric = scope.metrics.add(name="http.server.request.duration", unit="s")
    metric.histogram.aggregation_temporality = CUMULATIVE
    for route, method, rate, median, slow in ROUTES:
        for code, share in (("200", 0.99), ("500", 0.01)):
            for t in times:
                key = (route, code)
                now = median if t < LATENCY_STEP else slow
                expected = rate * share * STEP * daily(t)
                served = max(0, round(expected + math.sqrt(expected) * noise(t, f"{route}/{code}"))) if t > START else 0
                buckets, count, total = totals.get(key, ([0] * (len(BOUNDS) + 1), 0, 0.0))
                buckets = [a + b for a, b in zip(buckets, _bucket_counts(served, now))]
                count, total = count + served, total + served * now * math.exp(0.45**2 / 2)
                totals[key] = (buckets, count, total)
                dp = metric.histogram.data_points.add(time_unix_nano=t * NS, start_time_unix_nano=START * NS,
                                                      count=count, sum=total)
                dp.explicit_bounds.extend(BOUNDS)
                dp.bucket_counts.extend(buckets)
                attributes = {"http.request.method": method, "http.route": route, "url.scheme": "https",
                              "http.response.status_code": code}
                if code == "500":
                    attributes["error.type"] = code
                _attributes(dp, attributes)
    return request.SerializeToString()


def hostmetrics_payload(times) -> bytes:
    request = ExportMetricsServiceRequest()
    for host in sorted({f[0] for f in FILESYSTEMS}):
        # The collector's resource processor gives each host a service name and instance.
        scope = _resource(request, "hosts", host)
        usage = _up_down(scope, "system.filesystem.usage", "By")
        utilization = scope.metrics.add(name="system.filesystem.utilization", unit="1").gauge.data_points
        inodes = _up_down(scope, "system.filesystem.inodes.usage", "{inodes}")
        for name, device, fstype, mountpoint, size, used, full_at in FILESYSTEMS:
            if name != host:
                continue
            usable = size * (1 - RESERVED)
            for t in times:
                share = (t - START) / (full_at - START) if full_at else 0.0
                now = min(usable - 1, used + (usable - used) * share + 0.001 * used * noise(t, f"{name}{mountpoint}"))
                attributes = {"device": device, "mode": "rw", "mountpoint": mountpoint, "type": fstype}
                for state, value in (("used", now), ("free", usable - now), ("reserved", size - usable)):
                    dp = usage.add(time_unix_nano=t * NS, start_time_unix_nano=START * NS, as_int=int(value))
                    _attributes(dp, {**attributes, "state": state})
                dp = utilization.add(time_unix_nano=t * NS, as_double=now / usable)
                _attributes(dp, attributes)
                empty_at = INODES_EMPTY.get((name, mountpoint))
                used_inodes = 200_000 + (INODES - 200_000) * (t - START) / (empty_at - START) if empty_at else 200_000
                used_inodes = min(INODES, used_inodes + 500 * noise(t, f"inodes{name}{mountpoint}"))
                for state, value in (("used", used_inodes), ("free", INODES - used_inodes)):
                    dp = inodes.add(time_unix_nano=t * NS, start_time_unix_nano=START * NS, as_int=int(value))
                    _attributes(dp, {**attributes, "state": state})
    return request.SerializeToString()


def live_share(t: float, jvm: tuple) -> float:
    """The share of the max heap still reachable at `t`: the leak's straight climb, the daily
    load's swing, or a warm-up from a restart (caches filling within about half an hour)."""
    _, instance, _, share, full_at, restart_at = jvm
    leaked = (1.0 - share) * (t - START) / (full_at - START) if full_at is not None else 0.0
    if restart_at is not None and t >= restart_at:
        share *= 1.0 - 0.85 * math.exp(-(t - restart_at) / 600)
    swing = daily(t) ** 0.5 if full_at is None else 1.0  # (a leak under a daily swing: bench/, not here)
    return share * swing + leaked + 0.01 * noise(t, instance)


def jvm_payload(times) -> bytes:
    """G1's three heap pools per JVM: jvm.memory.used (the old generation between IHOP-driven
    collections, Eden between young ones), jvm.memory.used_after_last_gc (the old generation's
    steps at each mixed collection, Eden's 0), jvm.memory.limit for the old generation only
    (Eden and the survivor space have no maximum under G1, so the agent sends none)."""
    request = ExportMetricsServiceRequest()
    for jvm in JVMS:
        service, instance, heap, _, _, restart_at = jvm
        scope = _resource(request, service, instance)
        used = _up_down(scope, "jvm.memory.used", "By")
        after_gc = _up_down(scope, "jvm.memory.used_after_last_gc", "By")
        limit = _up_down(scope, "jvm.memory.limit", "By")
        started = restart_at if restart_at is not None and times[0] >= restart_at else START
        for t in times:
            since = t - started
            collected = started + since - since % OLD_GC_EVERY  # the last mixed collection
            old_after = heap * live_share(collected, jvm) if since >= OLD_GC_EVERY else 0.0
            old_now = max(old_after, heap * live_share(t, jvm)) + 0.1 * heap * (since % OLD_GC_EVERY) / OLD_GC_EVERY
            eden_now = 0.25 * heap * (t % 40) / 40
            for pool, now, after in (("G1 Old Gen", old_now, old_after), ("G1 Eden Space", eden_now, 0.0),
                                     ("G1 Survivor Space", 0.01 * heap, 0.01 * heap)):
                attributes = {"jvm.memory.type": "heap", "jvm.memory.pool.name": pool}
                for points, value in ((used, now), (after_gc, after)):
                    _attributes(points.add(time_unix_nano=t * NS, start_time_unix_nano=started * NS,
                                           as_int=int(value)), attributes)
            _attributes(limit.add(time_unix_nano=t * NS, start_time_unix_nano=started * NS, as_int=heap),
                        {"jvm.memory.type": "heap", "jvm.memory.pool.name": "G1 Old Gen"})
    return request.SerializeToString()


@pytest.fixture(scope="module")
def run():
    """Eight hours through Engine.ingest, evaluated every 10 minutes; the latest prediction per
    target, and the anomaly scores seen per target over time."""
    engine = Engine(load_config(EXAMPLES / "otel-semconv.yaml"))
    latest, scores, totals = {}, {}, {}
    for begin in range(START, START + 8 * HOUR, 600):
        times = list(range(begin, begin + 600, STEP))
        for payload in (pool_payload(times), http_payload(times, totals), hostmetrics_payload(times),
                        jvm_payload(times)):
            assert engine.ingest("metrics", payload) > 0
        for prediction in engine.evaluate():
            latest[prediction.key] = prediction
            if prediction.anomaly_score is not None:
                scores.setdefault(prediction.key, []).append((prediction.timestamp, prediction.anomaly_score))
        for key in engine.withdrawn:
            latest.pop(key, None)
    assert not any(engine.bad_input().values()), engine.bad_input()
    return latest, scores


def of(latest: dict, name: str) -> list:
    return [p for p in latest.values() if p.predictor == name]


def test_one_pool_target_per_pool_each_against_its_own_maximum(run):
    latest, _ = run
    pools = {(p.labels["service"], p.labels["db_client_connection_pool_name"]): p for p in of(latest, "db-pool")}
    assert set(pools) == {(p[0], p[2]) for p in POOLS}
    for service, _, pool, size, _, _ in POOLS:
        assert pools[(service, pool)].limit == size, pool
        assert pools[(service, pool)].labels["db_client_connection_state"] == "used"
    filling = pools[("checkout", "db:5432/orders")]
    assert 2 * HOUR / 1.6 <= filling.ttf[0.5] <= 2 * HOUR * 1.6, filling.ttf  # full at 10 h, seen at 8 h
    for key in (("checkout", "db-replica:5432/orders"), ("inventory", "db:5432/inventory")):
        assert pools[key].ttf[0.5] == math.inf and pools[key].probability[24 * HOUR] < 0.2, key


def test_one_filesystem_target_per_host_and_mountpoint_against_full(run):
    latest, _ = run
    filesystems = {(p.labels["service_instance"], p.labels["mountpoint"]): p for p in of(latest, "filesystem")}
    assert set(filesystems) == {("db-host-1", "/"), ("db-host-1", "/var/lib/postgresql"), ("db-host-2", "/")}
    assert all(p.limit == 1.0 and p.labels["type"] == "ext4" for p in filesystems.values())
    filling = filesystems[("db-host-1", "/var/lib/postgresql")]
    assert 2 * HOUR / 1.6 <= filling.ttf[0.5] <= 2 * HOUR * 1.6, filling.ttf
    assert 0.9 < filling.observed < 1.0
    for key in (("db-host-1", "/"), ("db-host-2", "/")):
        assert filesystems[key].ttf[0.5] == math.inf, key


def test_free_inodes_run_out_on_one_filesystem_only(run):
    latest, _ = run
    targets = {(p.labels["service_instance"], p.labels["mountpoint"]): p for p in of(latest, "filesystem-inodes")}
    assert set(targets) == {("db-host-1", "/"), ("db-host-1", "/var/lib/postgresql"), ("db-host-2", "/")}
    assert all(p.labels["state"] == "free" and p.limit == 0 for p in targets.values())
    draining = targets[("db-host-2", "/")]
    assert 6 * HOUR / 1.6 <= draining.ttf[0.5] <= 6 * HOUR * 1.6, draining.ttf  # none left at 14 h, seen at 8 h
    for key in (("db-host-1", "/"), ("db-host-1", "/var/lib/postgresql")):  # the second fills with bytes only
        assert targets[key].ttf[0.5] == math.inf, key


def test_latency_is_scored_per_route_and_the_slow_route_stands_out(run):
    latest, scores = run
    routes = {p.labels["http_route"]: p for p in of(latest, "http-latency")}
    assert set(routes) == {"/api/checkout", "/api/cart"}
    assert all(p.labels["http_response_status_code"] == "200" for p in routes.values())
    slow_key = routes["/api/checkout"].key
    before = [s for t, s in scores[slow_key] if START + 2 * HOUR <= t < LATENCY_STEP]
    after = [s for t, s in scores[slow_key] if LATENCY_STEP <= t < LATENCY_STEP + HOUR]
    assert max(after) >= 0.9 and max(after) > max(before), (max(before), max(after))
    # In the same hour the other route, whose latency did not change, does not stand out.
    steady = [s for t, s in scores[routes["/api/cart"].key] if LATENCY_STEP <= t < LATENCY_STEP + HOUR]
    assert max(steady) < 0.9
    errors = {p.labels["http_route"] for p in of(latest, "http-errors")}
    assert errors == {"/api/checkout", "/api/cart"}


def test_jvm_heap_one_target_per_jvm_old_generation_and_only_the_leak_has_a_failure_ahead(run):
    latest, _ = run
    targets = {p.labels["service"]: p for p in of(latest, "jvm-heap")}
    assert set(targets) == {jvm[0] for jvm in JVMS}  # Eden and the survivor space are left out
    for service, _, heap, _, _, _ in JVMS:
        assert targets[service].limit == heap and targets[service].labels["jvm_memory_pool_name"] == "G1 Old Gen"
    leaking = targets["checkout"]
    assert 6 * HOUR / 1.6 <= leaking.ttf[0.5] <= 6 * HOUR * 1.6, leaking.ttf  # at the max near 14 h, seen at 8 h
    for service in ("inventory", "catalog"):  # catalog's warm-up after its restart levels off
        assert targets[service].ttf[0.5] == math.inf and targets[service].probability[24 * HOUR] < 0.2, service
