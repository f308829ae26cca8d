"""The parts of a handover between replicas, without a broker: an engine's state cut by
partition, written to and read from a real state store (SQLite here; PostgreSQL in
test_replicas.py), the ownership filter, the pacer dropping a revoked partition's held
messages, and the incidents replicas build together."""
import math

import pytest

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.lifecycle import restore_partitions, snapshot, write_partitions
from foresight.lifecycle.stores import SQLiteStore
from foresight.policy import IncidentTracker
from foresight.runtime.engine import Engine
from foresight.runtime.engine_partitions import drop_partitions, export_partitions, import_partition
from foresight.runtime.pacing import TopicPacer
from foresight.runtime.peers import parse_member

CONFIG = parse_config("""
predictors:
  - name: used
    kind: exhaustion
    series: app_used_ratio
    limit: 1.0
    policy: {min_history: 30m}
""")
T0 = 1_767_225_600
PARTITION_OF = {"svc-a": "otlp_metrics/0", "svc-b": "otlp_metrics/1"}


def feed(engine: Engine, minutes: range):
    for minute in minutes:
        t = T0 + 60 * minute
        for service, partition in PARTITION_OF.items():
            value = 0.3 + 0.004 * minute if service == "svc-b" else 0.3 + 0.01 * math.sin(minute)
            engine.add_points("metrics", [Point("app_used_ratio", (("job", service),), t, value, GAUGE)], partition)
        engine.evaluate()


def predicted(engine: Engine) -> dict:
    return {p.labels["service"]: p for p in engine.evaluate()}


def test_a_partition_moves_to_another_engine_and_predicts_as_it_would_have(tmp_path):
    stayed, moved_from, moved_to = Engine(CONFIG), Engine(CONFIG), Engine(CONFIG)
    for engine in (stayed, moved_from):
        feed(engine, range(0, 150))
    moved_from.store.own(set(PARTITION_OF.values()))

    rows = export_partitions(moved_from, {"otlp_metrics/1"})["otlp_metrics/1"]
    assert {section for section, *_ in rows} == {"config", "series", "target", "policy"}
    store = SQLiteStore(str(tmp_path / "state.sqlite"))
    write_partitions(store, "group", {"otlp_metrics/1": (snapshot(rows, moved_from.store.watermark), 1234)})
    withdrawn = drop_partitions(moved_from, {"otlp_metrics/1"})
    assert withdrawn == [("used", (("service", "svc-b"),))]
    assert all(dict(key[1])["job"] == "svc-a" for key in moved_from.store.windows)

    restored = restore_partitions(store, "group", ["otlp_metrics/0", "otlp_metrics/1"])
    assert list(restored) == ["otlp_metrics/1"] and restored["otlp_metrics/1"].meta["next_offset"] == 1234
    moved_to.store.own({"otlp_metrics/1"})
    report = import_partition(moved_to, "otlp_metrics/1", restored["otlp_metrics/1"].rows)
    assert report.rows == len(rows) and not report.skipped

    for minute in range(150, 160):
        t = T0 + 60 * minute
        point = Point("app_used_ratio", (("job", "svc-b"),), t, 0.3 + 0.004 * minute, GAUGE)
        stayed.add_points("metrics", [point], "otlp_metrics/1")
        moved_to.add_points("metrics", [point], "otlp_metrics/1")
        want, got = predicted(stayed)["svc-b"], predicted(moved_to)
        assert set(got) == {"svc-b"}  # only its own partition's target
        assert got["svc-b"].risk_level == want.risk_level
        assert got["svc-b"].ttf[0.5] == pytest.approx(want.ttf[0.5], rel=1e-9)
    store.close()


def test_only_the_owned_partitions_series_are_targets_but_all_can_be_read():
    engine = Engine(CONFIG)
    feed(engine, range(0, 40))
    engine.store.own({"otlp_metrics/0"})
    selector = CONFIG.predictors[0].series
    assert {dict(k[1])["job"] for k, _ in engine.store.targets_matching(selector)} == {"svc-a"}
    assert {dict(k[1])["job"] for k, _ in engine.store.matching(selector)} == {"svc-a", "svc-b"}
    engine.store.own(None)
    assert len(engine.store.targets_matching(selector)) == 2


def test_the_pacer_drops_held_messages_of_revoked_partitions():
    from foresight.sources.otlp import DecodeResult

    def decoded(t):
        result = DecodeResult()
        result.points.append(Point("m", (), t, 1.0, GAUGE))
        return result

    pacer = TopicPacer()
    pacer.add("metrics", b"a" * 10, decoded(T0), 0.0, ("otlp_metrics/0", 5))
    pacer.add("metrics", b"b" * 20, decoded(T0 + 60), 0.0, ("otlp_metrics/1", 7))
    pacer.add("metrics", b"c" * 30, decoded(T0 + 120), 0.0, ())
    assert pacer.discard({"otlp_metrics/1"}) == 1
    assert pacer.held_bytes == 40
    assert [pacer.next({}, 0.0)[3] for _ in range(2)] == [("otlp_metrics/0", 5), ()]


def test_replicas_exchange_rows_through_the_store(tmp_path):
    store = SQLiteStore(str(tmp_path / "state.sqlite"))
    assert store.exchange("g", "one", '{"at_risk": []}', since=0) == []
    assert store.exchange("g", "two", '{"calls": []}', since=0) == [("one", '{"at_risk": []}')]
    assert store.exchange("other-group", "three", "{}", since=0) == []
    assert store.exchange("g", "two", "{}", since=math.inf) == []  # rows older than `since` are gone replicas
    store.exchange("g", "one", "", since=0)  # a replica leaving deletes its row
    assert store.exchange("g", "two", "{}", since=0) == []
    store.close()


def test_another_replicas_row_that_does_not_parse_is_skipped():
    assert parse_member("not json") == ([], [])
    assert parse_member('["a list"]') == ([], [])
    at_risk, calls = parse_member('{"at_risk": [["used", [["service", "x"]], "x", 2, 100.0, ""], ["short"],'
                                  ' ["used", [["service", "y"]], "y", "high", 1, ""]],'
                                  ' "calls": [["a", "b", 5.0], ["a"], ["a", "b", "soon"]]}')
    assert [a.service for a in at_risk] == ["x"] and at_risk[0].key == ("used", (("service", "x"),))
    assert calls == [("a", "b", 5.0)]


def test_two_replicas_put_a_caller_and_its_callee_in_one_incident():
    """Replica one predicts the caller and saw the call; replica two predicts the callee."""
    from foresight.contracts.predictions import Prediction

    def at_risk(service, t):
        return Prediction(predictor="used", labels={"service": service}, timestamp=t, observed=0.9, risk_level=2)

    one, two = IncidentTracker(), IncidentTracker()
    one.graph.add_call("checkout", "payments", T0)
    caller, callee = at_risk("checkout", T0), at_risk("payments", T0 + 60)
    one.assign([caller])
    two.assign([callee])
    assert caller.incident[0] != callee.incident[0]  # alone, each is its own incident

    shared_one, shared_two = parse_member(_json(one.shared())), parse_member(_json(two.shared()))
    two.take_peer_calls(shared_one[1])
    one.take_peer_calls(shared_two[1])
    one.assign([caller], peers=shared_two[0])
    two.assign([callee], peers=shared_one[0])
    assert caller.incident == callee.incident
    assert caller.incident[1] == "payments"  # the callee: the root-cause candidate


def _json(value) -> str:
    import json
    return json.dumps(value)


def test_a_service_whose_logs_partition_goes_away_is_forgotten_by_the_logs_kind():
    from foresight.contracts.points import LogLine
    from foresight.sources.otlp import DecodeResult

    engine = Engine(parse_config("""
predictors:
  - name: log-patterns
    kind: logs
"""))
    for minute in range(0, 30):
        for service, partition in (("checkout", "otlp_logs/0"), ("payments", "otlp_logs/1")):
            result = DecodeResult()
            result.log_lines.append(LogLine(T0 + 60 * minute, service, "info", f"GET /orders/{minute} ok"))
            engine.take("logs", result, partition)
        engine.evaluate()
    assert engine.log_origin == {"checkout": "otlp_logs/0", "payments": "otlp_logs/1"}
    withdrawn = drop_partitions(engine, {"otlp_logs/1"})
    assert withdrawn == [("log-patterns", (("service", "payments"),))]
    assert engine.log_origin == {"checkout": "otlp_logs/0"}
    result = DecodeResult()
    result.log_lines.append(LogLine(T0 + 60 * 31, "checkout", "info", "GET /orders/31 ok"))
    engine.take("logs", result, "otlp_logs/0")
    assert {p.labels["service"] for p in engine.evaluate()} == {"checkout"}


LOGS_CONFIG = """
predictors:
  - name: log-patterns
    kind: logs
"""


def _logs(engine: Engine, minute: int, services, extra: str | None = None):
    """A minute of lines, the newest at 2 s past the minute: the logs kind is due every minute."""
    from foresight.contracts.points import LogLine
    from foresight.sources.otlp import DecodeResult

    for service, partition in services:
        result = DecodeResult()
        for k in range(3):
            result.log_lines.append(LogLine(T0 + 60 * minute + k, service, "info", f"GET /orders/{minute}{k} ok in {k}ms"))
        if minute % 5 == 0:
            result.log_lines.append(LogLine(T0 + 60 * minute + 1, service, "warn", f"retrying call to {service}-db after {minute}ms"))
        if extra:
            result.log_lines.append(LogLine(T0 + 60 * minute + 2, service, "error", extra))
        engine.take("logs", result, partition)


def test_a_service_whose_logs_partition_moves_keeps_its_templates_counts_and_age(tmp_path):
    """The logs kind hands a service over with its partition: the new replica neither warms
    up again nor calls the service's known templates new, and scores it as the replica that
    kept it does (templates matched by text: each replica's miner numbers its own)."""
    stayed, moved_from, moved_to = Engine(parse_config(LOGS_CONFIG)), Engine(parse_config(LOGS_CONFIG)), Engine(parse_config(LOGS_CONFIG))
    both = (("checkout", "otlp_logs/0"), ("payments", "otlp_logs/1"))
    for minute in range(0, 40):
        for engine in (stayed, moved_from):
            _logs(engine, minute, both)
            engine.evaluate()
    _logs(moved_to, 0, (("search", "otlp_logs/2"),))  # the new owner's miner already has templates of its own
    _logs(moved_to, 0, (("search", "otlp_logs/2"),), extra="disk quota of search exceeded")
    moved_to.evaluate()

    rows = export_partitions(moved_from, {"otlp_logs/1"})["otlp_logs/1"]
    logs_rows = [(section, key) for section, name, key, _ in rows if name == "log-patterns" and section != "config"]
    assert sorted(logs_rows) == [("policy", ("log-patterns", (("service", "payments"),))),
                                 ("target", (("service", "payments"),))]
    store = SQLiteStore(str(tmp_path / "state.sqlite"))
    write_partitions(store, "group", {"otlp_logs/1": (snapshot(rows, moved_from.store.watermark), 99)})
    assert drop_partitions(moved_from, {"otlp_logs/1"}) == [("log-patterns", (("service", "payments"),))]
    restored = restore_partitions(store, "group", ["otlp_logs/1"])
    report = import_partition(moved_to, "otlp_logs/1", restored["otlp_logs/1"].rows)
    assert report.rows == len(rows) and not report.skipped
    assert moved_to.log_origin["payments"] == "otlp_logs/1"
    store.close()

    for minute in range(40, 46):
        extra = "payment provider timeout after <NUM> retries" if minute >= 43 else None
        for engine in (stayed, moved_to):
            _logs(engine, minute, (("payments", "otlp_logs/1"),), extra=extra)
        want = {p.labels["service"]: p for p in stayed.evaluate()}["payments"]
        got = {p.labels["service"]: p for p in moved_to.evaluate()}["payments"]
        assert got.history_seconds == want.history_seconds >= 40 * 60
        assert got.anomaly_score == pytest.approx(want.anomaly_score, abs=1e-12)
        assert got.drivers == want.drivers and "warming up" not in got.drivers[0]
        assert [t[1:] for t in got.log_templates] == [t[1:] for t in want.log_templates]  # ids differ, texts do not
        assert got.risk_level == want.risk_level
    assert "new error" in got.drivers[0] and got.anomaly_score > 0  # the new template is news on both


def test_a_logs_service_row_that_does_not_fit_is_counted_and_skipped():
    engine = Engine(parse_config(LOGS_CONFIG))
    config_row = next(row for row in export_partitions(engine, {"otlp_logs/1"})["otlp_logs/1"] if row[0] == "config")
    loud = {"start": T0, "templates": [[1, ["GET", "<NUM>"]]], "series": [[1, "LOUD", [[1, 2]]]], "pending": [],
            "first_seen": [[1, T0]]}
    bad = [config_row, ("target", "log-patterns", (("service", "payments"),), {"counts": {"templates": "?"}}),
           ("target", "log-patterns", "not a key", {}),
           ("target", "log-patterns", (("service", "search"),), {"counts": loud, "first_seen": T0})]
    report = import_partition(engine, "otlp_logs/1", bad)
    assert report.skipped == {"unreadable": 3} and engine.log_origin == {}
    predictor = engine.predictors[0]
    assert predictor.detector.miner.template_count == 0  # a bad row leaves no template behind
    _logs(engine, 1, (("checkout", "otlp_logs/0"),))
    assert {p.labels["service"] for p in engine.evaluate()} == {"checkout"} and not predictor.errors
