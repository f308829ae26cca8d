"""A broker restart under a running sidecar, on the real Kafka API broker (tansu).

The sidecar reads every point sent before the restart, keeps running while the broker is
down (past the 2 s its lag query may wait), and reads every point sent once the broker is
back. The local broker keeps its log in memory: a restart brings the topics back empty with
new ids, and the group's committed offsets are gone. Points are sent as the collector sends
them, keyed by resource, so each series stays on one partition and in order.

The points after the restart are sent once the sidecar is back in its group (its position
then comes from the group's committed offsets: none on this broker, so the earliest). Sent
earlier, some can be skipped: on reconnecting, the consumer fetches from its old position
in the re-created topic, past the first messages sent to it, and what it reads again after
rejoining is older than what it took and dropped as out of order. A broker that keeps its
log (Kafka) keeps the offsets too, and this does not arise.
"""
import importlib.util
import threading
import time
from pathlib import Path

import pytest
import requests
from kafka import KafkaProducer
from kafka.structs import MemberState
from otlp_builders import add_gauge, metrics_request
from prometheus_client.parser import text_string_to_metric_families

from foresight.config import load_config
from foresight.runtime.service import Service, Settings
from foresight_dev.devstack.processes import free_port
from foresight_dev.devstack.stack import LocalStack

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
START, STEP = 1_767_225_600, 2  # event time advances 2 s a message: a burst stays within max_skew
INSTANCES = 5
BEFORE, AFTER = 40, 100  # messages per instance; AFTER > BEFORE, so a stale read position would skip some


def payload(i: int, instance: int) -> bytes:
    req, scope = metrics_request("checkout", f"checkout-{instance}")
    add_gauge(scope, "process.memory.usage", "By", [(START + STEP * i, 1e8 + 1000 * i)])
    return req.SerializeToString()


def produce(bootstrap: str, first: int, count: int):
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for i in range(first, first + count):
        for instance in range(INSTANCES):
            producer.send("otlp_metrics", payload(i, instance), key=f"checkout-{instance}".encode())
    producer.flush()
    producer.close()


def scrape(url: str) -> dict:
    """(name, labels) -> value, from the sidecar's /metrics."""
    text = requests.get(url + "/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def ingested(url: str) -> float:
    return scrape(url).get(("foresight_points_ingested_total", (("signal", "metrics"),)), 0.0)


def wait_for_rejoin(consumer, member_before: str, timeout: float) -> float:
    """Seconds until the sidecar's consumer is a stable member of the group again, under a
    new member id (the restarted broker knew none of the group). This broker answers no
    DescribeGroups, so the consumer is asked."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        meta = consumer.group_metadata()
        if meta.member_id not in ("", member_before) and meta.state == MemberState.STABLE \
                and consumer.assignment():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"the sidecar did not rejoin its group within {timeout:.0f}s")


def wait_for_points(url: str, expected: int, thread, timeout: float) -> float:
    deadline, seen = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline and thread.is_alive():
        seen = ingested(url)
        if seen >= expected:
            return seen
        time.sleep(0.25)
    return seen


@pytest.fixture(scope="module")
def restart_run(tmp_path_factory):
    with LocalStack(tmp_path_factory.mktemp("broker-restart"), REPO) as stack:
        bootstrap = stack.start_kafka(partitions=3)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        svc = Service(load_config(REPO / "predictors" / "config" / "predictors.yaml"),
                      Settings(kafka_bootstrap=bootstrap, consumer_group="faults", listen=f"127.0.0.1:{port}"))
        thread = threading.Thread(target=svc.run, daemon=True)
        thread.start()
        try:
            produce(bootstrap, 0, BEFORE)
            before = wait_for_points(url, BEFORE * INSTANCES, thread, timeout=60)
            time.sleep(2)  # its commit; the broker forgets it anyway
            member_before = svc.source.consumer.group_metadata().member_id
            # Down for 12 s, longer than its heartbeat session (6 s): it must ride that out.
            stalls, watching = [], threading.Event()

            def watch():  # how long the main loop goes without a turn (/healthz fails past 60 s)
                while not watching.wait(0.1):
                    stalls.append(time.monotonic() - svc.heartbeat)
            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            stack.restart_kafka(down=12)
            watching.set()
            watcher.join()
            alive_after_outage = thread.is_alive()
            # This broker forgot the topics: what is sent before the sidecar is back in the
            # group lands below its old read position (see the module's note).
            rejoined = wait_for_rejoin(svc.source.consumer, member_before, timeout=30)
            produce(bootstrap, BEFORE, AFTER)
            after = wait_for_points(url, (BEFORE + AFTER) * INSTANCES, thread, timeout=60)
            time.sleep(3)  # anything read twice or late would show now
            final, health = scrape(url), requests.get(url + "/healthz", timeout=5)
            yield {"stall": max(stalls), "rejoined": rejoined, "before": before, "after": after,
                   "alive": alive_after_outage and thread.is_alive(), "metrics": final,
                   "healthz": health.status_code, "store_bad": dict(svc.engine.store.bad)}
        finally:
            svc.stop_event.set()
            thread.join(30)


def test_every_point_sent_before_the_restart_is_read(restart_run):
    assert restart_run["before"] == BEFORE * INSTANCES


def test_the_sidecar_rides_out_the_outage(restart_run):
    assert restart_run["alive"], "the sidecar's main loop ended while the broker was down"
    assert restart_run["healthz"] == 200
    # Its lag query waits 2 s at most, and a poll 0.5 s: the loop keeps turning while the
    # broker is down (the query's default wait is 30 s, and then it raised out of the loop).
    assert restart_run["stall"] < 5, restart_run["stall"]
    print(f"main loop stalled {restart_run['stall']:.1f}s at most; rejoined {restart_run['rejoined']:.1f}s "
          f"after the broker was back")  # shown with -rA


def test_every_point_sent_after_the_restart_is_read_once(restart_run):
    total = (BEFORE + AFTER) * INSTANCES
    assert restart_run["after"] == total, (restart_run["after"], total, restart_run["store_bad"])
    # Accepted once each: what the group reads again after it rejoins (the broker lost its
    # committed offsets, so it starts from the earliest) is dropped as old, not counted twice.
    points = restart_run["metrics"][("foresight_points_ingested_total", (("signal", "metrics"),))]
    assert points == total
    assert restart_run["store_bad"].get("future", 0) == 0, restart_run["store_bad"]


def load_overload_bench():
    """bench/scale/overload.py, the 10-minute overload benchmark this test is the short form of."""
    spec = importlib.util.spec_from_file_location("overload_bench", REPO / "bench" / "scale" / "overload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ten_times_the_load_keeps_memory_bounded_and_the_lag_returns_to_zero(tmp_path):
    """`make overload` in short: 10x for 40 s instead of 10 min; the lag must be back at 0
    within 40 s (the benchmark allows 5 min)."""
    bench = load_overload_bench()
    result = bench.run(copies=20, factor=10, normal=15, overload=40, recovery=40, sample_every=2,
                       stop_when_recovered=True, workdir=tmp_path, log=lambda line: None)
    summary = result.summary()
    # The sender kept to 10x (it shares the 2 cores with the sidecar and the broker).
    over = [s for s in result.samples if s["phase"] == "overload"]
    rate = (over[-1]["sent"] - over[0]["sent"]) / (over[-1]["t"] - over[0]["t"])
    assert rate >= 0.8 * summary["events_per_second_overload"], (rate, summary)
    assert result.recovered_after is not None and result.recovered_after <= 40, summary
    # Bounded: the overload adds what its points hold in the windows, not a queue of messages.
    assert summary["rss_overload_peak_mb"] <= 1.3 * summary["rss_normal_mb"], summary
    print(summary)  # shown with -rA
