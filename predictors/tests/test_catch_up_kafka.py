"""A backlog on a real Kafka API broker (tansu): the sidecar reads its three topics in step,
keeps every series, reads each message once and commits all of it in the end.

The backlog is shaped like `make demo`'s history burst: metrics in big half-hour messages,
logs in small five-minute ones, so a plain consumer would read the logs hours ahead."""
import random
import threading
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from loadgen import otlp
from loadgen.events import step_events
from loadgen.registry import get_scenario
from loadgen.series import Timeline
from loadgen.traces import step_traces
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from foresight.config import load_config
from foresight.runtime.service import Service, Settings
from foresight_dev.devstack.processes import free_port
from foresight_dev.devstack.stack import LocalStack

pytestmark = pytest.mark.integration
REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
START, STEP, HOURS = 1_767_225_600, 15, 6
TOPICS = {"metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces"}


def produce(bootstrap: str) -> int:
    """Six hours of the memory-leak scenario's healthy history; returns the metric messages sent."""
    first = START - HOURS * 3600
    timeline, ids = Timeline(get_scenario("memory-leak"), START, STEP, 1, first=first), random.Random(1)
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=8 << 20)
    sent = 0
    for _ in range(HOURS * 2):
        batch = timeline.next_batch(1800 // STEP)
        producer.send(TOPICS["metrics"], encode_metrics(otlp.metrics_data(batch, first)).SerializeToString())
        events = sorted(step_events(batch, STEP), key=lambda e: e.time)
        for minute in range(0, 30, 5):
            part = [e for e in events if minute * 60 <= e.time - batch.times[0] < (minute + 5) * 60]
            producer.send(TOPICS["logs"], encode_logs(otlp.log_records(part)).SerializeToString())
        producer.send(TOPICS["traces"], encode_spans(otlp.spans(step_traces(batch, STEP, 1, ids))).SerializeToString())
        sent += 1
    producer.flush()
    producer.close()
    return sent


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with LocalStack(tmp_path_factory.mktemp("stack"), REPO) as stack:
        bootstrap = stack.start_kafka(partitions=1)
        produce(bootstrap)
        svc = Service(load_config(REPO / "predictors" / "config" / "predictors.yaml"),
                      Settings(kafka_bootstrap=bootstrap, consumer_group="catch-up", listen=f"127.0.0.1:{free_port()}"))
        thread = threading.Thread(target=svc.run, daemon=True)
        thread.start()
        skew, deadline = [], time.monotonic() + 180
        while time.monotonic() < deadline:
            times = dict(svc.engine.store.stream_time)
            if len(times) == 3:
                skew.append(max(times.values()) - min(times.values()))
                if min(times.values()) >= START - 600 and not svc.pacer.holding:
                    break
            time.sleep(0.05)
        time.sleep(1.5)  # the last commit
        svc.stop_event.set()
        thread.join(30)
        yield svc, skew, committed(bootstrap)


def committed(bootstrap) -> dict:
    """Per topic: (committed offset of the group, end offset)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="catch-up", enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, 0) for topic in TOPICS.values()]
        ends = consumer.end_offsets(partitions)
        return {tp.topic: (consumer.committed(tp), ends[tp]) for tp in partitions}
    finally:
        consumer.close()


def test_the_topics_are_read_in_step(run):
    _, skew, _ = run
    # Never further apart than `ahead` (10 min) plus one metrics message (30 min); read as
    # they come, the logs would have been hours ahead.
    assert skew and max(skew) <= 600 + 1800, max(skew)


def test_every_series_is_kept_and_every_point_read_once(run):
    svc, _, _ = run
    assert sum(svc.engine.store.evicted.values()) == 0
    assert svc.engine.store.bad["duplicate"] == 0 and svc.engine.store.bad["out_of_order"] == 0
    assert svc.engine.accepted["metrics"] > 0 and svc.engine.accepted["logs"] > 0
    memory = [w for key, w in svc.engine.store.windows.items() if key[0] == "process_memory_usage_bytes"]
    # Six hours each (the oldest as five-minute means, whose times are their points' mean).
    assert memory and all(w.times[-1] - w.times[0] >= HOURS * 3600 - 300 for w in memory)


def test_all_of_it_is_committed_once_nothing_is_held(run):
    _, _, offsets = run
    for topic, (done, end) in offsets.items():
        assert done == end, (topic, done, end)
