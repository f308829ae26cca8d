"""A backlog is read in step across topics and evaluated in steps of event time, a poll at a
time the consumer group allows (no broker here: tests/test_catch_up_kafka.py has one)."""
import math
from types import SimpleNamespace

import pytest
from otlp_builders import add_gauge, gauge_payload, logs_payload, metrics_request

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.pacing import TopicPacer
from foresight.runtime.service import PollSize, Service, Settings
from foresight.store import SeriesStore
from foresight_dev.devstack.processes import free_port

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes
    limit: 1000
    resource: memory
  - name: log-patterns
    kind: logs
""")
T0 = 1_767_225_600


def service(**settings):
    """A Service that counts its evaluations."""
    svc = Service(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}", **settings))
    predict, svc.evaluations = svc.engine.predict, 0

    def counted():
        svc.evaluations += 1
        return predict()
    svc.engine.predict = counted
    return svc


def memory(t, v=None):
    return ("metrics", gauge_payload("process.memory.usage", "By", [(t, 100 + (t - T0) / 60 if v is None else v)]))


def logs(t):
    return ("logs", logs_payload("checkout", [(t, "INFO", "GET /orders took 5ms")]))


def value(svc, name, labels=None):
    return svc.registry.get_sample_value(name, labels or {})


def test_poll_size_halves_after_a_slow_poll_and_doubles_after_quick_full_ones():
    size = PollSize(budget=1.0, largest=64, start=8)
    size.after(8, 2.5)
    assert size.size == 4
    for _ in range(5):
        size.after(size.size, 9.0)
    assert size.size == 1  # never below one message
    size.after(1, 0.1)
    size.after(2, 0.1)
    assert size.size == 4
    size.after(3, 0.1)  # a poll that was not full says nothing about a bigger one
    assert size.size == 4
    for _ in range(10):
        size.after(size.size, 0.1)
    assert size.size == 64


def test_a_backlog_in_one_poll_is_evaluated_in_steps_of_event_time():
    svc = service()
    svc.handle([memory(T0 + 60 * i) for i in range(180)])  # three hours at once
    # A message beginning more than catch_up_step (60 s) past the last evaluation's data
    # starts a step: about one evaluation per minute of data, not one for the three hours.
    assert svc.evaluations == 179
    assert value(svc, "foresight_inference_duration_seconds_count") == 179 - 8  # none before 10 points
    ids = {"predictor": "memory", "service": "checkout", "service_instance": "checkout-0"}
    assert value(svc, "foresight_observed_value", ids) == pytest.approx(100 + 179)


def test_one_minute_of_several_topics_is_one_evaluation():
    svc = service()
    for i in range(30):
        t = T0 + 60 * i
        svc.handle([memory(t), logs(t), ("logs", logs_payload("checkout", [(t + 1, "INFO", "cache hit")]))])
    assert svc.evaluations == 30


def test_a_topic_running_ahead_waits_for_the_others():
    svc = service()
    # The logs of three hours arrive before the metrics have got past their first minute.
    svc.handle([memory(T0), *[logs(T0 + 60 * i) for i in range(180)]])
    assert svc.pacer.holding
    assert svc.engine.accepted["logs"] <= 12  # up to `ahead` (10 min) past the metrics
    svc.handle([memory(T0 + 60 * i) for i in range(1, 90)])
    assert 85 <= (svc.engine.store.stream_time["logs"] - T0) / 60 <= 100  # in step with the metrics
    svc.handle([memory(T0 + 60 * i) for i in range(90, 180)])
    assert not svc.pacer.holding and svc.engine.accepted["logs"] == 180  # all of them, once
    assert dict(svc.engine.store.evicted) in ({}, {"idle": 0, "max_series": 0})


def test_a_topic_that_stopped_delivering_holds_no_other_back():
    pacer = TopicPacer(ahead=600, idle_after=5)
    stream_time = {"metrics": T0, "logs": T0}
    pacer.add("metrics", b"m", decoded(T0), now=0.0)
    assert pacer.next(stream_time, now=0.0)[0] == "metrics"
    pacer.add("logs", b"l", decoded(T0 + 3600), now=1.0)
    assert pacer.next(stream_time, now=1.0) is None  # the metrics still deliver: wait for them
    assert pacer.next(stream_time, now=4.9) is None
    assert pacer.next(stream_time, now=5.1)[0] == "logs"  # silent for 5 s: caught up or gone


def test_held_messages_are_bounded_in_memory_and_keep_their_order():
    pacer = TopicPacer(ahead=600, idle_after=5, max_held_bytes=100, keep_decoded_bytes=30)
    pacer.add("metrics", b"m", decoded(T0), now=0.0)
    pacer.next({}, now=0.0)
    stream_time = {"metrics": T0}
    for i in range(8):
        pacer.add("logs", bytes(20), decoded(T0 + 3600 + i), now=0.0)
    pacer.shed()
    assert [entry[2] is not None for entry in pacer.queues["logs"]] == [True] * 1 + [False] * 7
    released = []
    while (item := pacer.next(stream_time, now=0.0)) is not None:  # 160 bytes held, 100 allowed
        released.append(item)
    assert len(released) == 3 and pacer.held_bytes == 100
    assert [item[2] is not None for item in released] == [True, False, False]
    pacer.add("metrics", b"m", decoded(T0 + 3700), now=0.0)
    order = []
    while (item := pacer.next({"metrics": T0 + 3600, "logs": T0 + 3602}, now=0.0)) is not None:
        order.append(item[0])
    assert order == ["logs"] * 5 + ["metrics"]  # by the time each message begins


def test_a_topic_sending_nothing_usable_holds_no_other_back():
    pacer = TopicPacer(ahead=600, idle_after=5)
    pacer.add("traces", b"garbage", SimpleNamespace(points=[]), now=0.0)
    pacer.add("metrics", b"m", decoded(T0 + 7200), now=0.0)
    assert [pacer.next({}, now=0.0)[0], pacer.next({}, now=0.0)[0]] == ["traces", "metrics"]


def test_bad_input_of_a_message_decoded_again_is_counted_once():
    svc = service()
    svc.pacer = TopicPacer(keep_decoded_bytes=0)  # held messages keep their payload only
    req, scope = metrics_request()
    add_gauge(scope, "process.memory.usage", "By", [(T0 + 3600, 500.0), (T0 + 3660, math.nan)])
    svc.handle([logs(T0), ("metrics", req.SerializeToString())])  # the metrics run an hour ahead
    assert svc.pacer.holding
    svc.handle([logs(T0 + 60 * i) for i in range(1, 62)])
    assert not svc.pacer.holding
    assert value(svc, "foresight_bad_input_total", {"reason": "non_finite_value"}) == 1
    assert svc.engine.accepted["metrics"] == 1


def test_the_store_tells_how_far_each_stream_has_got():
    store = SeriesStore(lambda metric, labels: True)
    labels = (("job", "a"),)
    store.add_points([Point("m", labels, T0, 1.0, GAUGE), Point("m", labels, T0 + 60, 2.0, GAUGE)], stream="metrics")
    store.add_points([Point("m", (("job", "b"),), T0 + 30, 1.0, GAUGE)], stream="logs")
    store.add_points([Point("m", labels, T0 + 86400, 3.0, GAUGE)], stream="logs")  # future: dropped
    assert store.stream_time == {"metrics": T0 + 60, "logs": T0 + 30}
    assert store.bad["future"] == 1


def decoded(t):
    return SimpleNamespace(points=[SimpleNamespace(timestamp=t)])
