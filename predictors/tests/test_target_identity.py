"""Every series is its own target: its labels (minus `drop_labels`) are its identity in
predictions, the exposition, the policy, incidents and feedback episodes; `max_targets`
bounds how many a predictor keeps."""
import logging

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from foresight.config import ConfigError, parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.predictions import Prediction, output_labels
from foresight.feedback import FeedbackLoop
from foresight.policy.incidents.tracker import IncidentTracker
from foresight.publish.metrics import PredictionCollector
from foresight.runtime.engine import Engine
from foresight.runtime.service import Service, Settings

T0 = 1_767_225_600.0
NODE = (("instance", "host-1:9100"), ("job", "node"), ("device", "sda1"))


def config(extra: str = ""):
    return parse_config(f"""
predictors:
  - name: disk
    kind: exhaustion
    series: node_filesystem_used_bytes
    limit: 100
    policy: {{min_history: 0s}}
{extra}""")


def series(mountpoint: str, base=NODE, **more) -> tuple:
    return tuple(sorted(dict(base, mountpoint=mountpoint, **more).items()))


def ramp(engine, labels_and_rates, minutes=90, start=20.0, metric="node_filesystem_used_bytes"):
    """One point a minute per series (value start + rate * minute); every evaluation's predictions."""
    out = []
    for minute in range(minutes):
        t = T0 + 60 * minute
        engine.add_points("metrics", [Point(metric, labels, t, start + rate * minute, GAUGE)
                                      for labels, rate in labels_and_rates])
        out.append(engine.evaluate())
    return out


# -- the identity ------------------------------------------------------------------------

def test_output_labels_keep_every_label_rename_job_and_instance_and_export_clashes():
    source = {"job": "node", "instance": "host-1:9100", "mountpoint": "/data", "device": "sda1", "fstype": "ext4",
              "severity": "high", "le": "0.5", "resource": "cpu", "service": "api", "exported_service": "web",
              "k8s.pod.name": "api-7", "empty": ""}
    assert output_labels(source, drop=("fstype",)) == {
        "service": "node", "service_instance": "host-1:9100", "mountpoint": "/data", "device": "sda1",
        "exported_severity": "high", "exported_le": "0.5", "exported_resource": "cpu",
        "exported_service": "web", "exported_exported_service": "api",  # the plain exported_service was there first
        "k8s_pod_name": "api-7",
    }
    assert output_labels({"instance": "x"}, drop=("instance",)) == {}


def test_prediction_key_follows_its_labels_and_the_key_it_was_given():
    p = Prediction(predictor="mem", labels={"service": "b", "host": "a"}, timestamp=0.0, observed=1.0)
    assert p.key == ("mem", (("host", "a"), ("service", "b")))
    p.labels = {"service": "c"}  # replaced: the key follows
    assert p.key == ("mem", (("service", "c"),))
    given = ("mem", (("host", "x"), ("service", "y")))
    p.identify(given)
    assert p.labels == {"host": "x", "service": "y"} and p.key is given
    p.identify(("other", (("service", "z"),)))  # another predictor's key: labels only
    assert p.key == ("mem", (("service", "z"),))


def test_config_reads_drop_labels_and_max_targets_and_names_bad_values():
    cfg = config("    drop_labels: [fstype, device]\n    max_targets: 2\n").predictors[0]
    assert cfg.drop_labels == ["fstype", "device"] and cfg.max_targets == 2
    assert config().predictors[0].max_targets == 10_000 and config().predictors[0].drop_labels == []
    for extra, field, reason in [("    drop_labels: [fs.type]\n", "drop_labels", "'fs.type' is not a label name"),
                                 ("    drop_labels: fstype\n", "drop_labels", "expected a list of names"),
                                 ("    max_targets: 0\n", "max_targets", "outside [1, inf]"),
                                 ("    max_targets: 1.5\n", "max_targets", "not a whole number")]:
        with pytest.raises(ConfigError) as err:
            config(extra)
        assert err.value.field_path == f"predictors[0].{field}" and reason in err.value.reason, err.value


def test_two_mountpoints_of_one_host_are_two_targets_through_policy_and_exposition():
    engine = Engine(config())
    rounds = ramp(engine, [(series("/"), 0.9), (series("/data"), 0.01)])
    last = {p.labels["mountpoint"]: p for p in rounds[-1]}
    assert set(last) == {"/", "/data"}
    assert last["/"].labels == {"service": "node", "service_instance": "host-1:9100", "device": "sda1",
                                "mountpoint": "/"}
    # Each its own forecast and level: "/" fills within the hour, "/data" is flat.
    assert last["/"].risk_level == 3 and last["/data"].risk_level == 0
    assert engine.policies["disk"].levels == {last["/"].key: 3, last["/data"].key: 0}
    collector = PredictionCollector(engine.config.predictors)
    registry = CollectorRegistry()
    registry.register(collector)
    collector.update(rounds[-1])
    ids = {"predictor": "disk", "service": "node", "service_instance": "host-1:9100", "device": "sda1"}
    assert registry.get_sample_value("foresight_risk_level", {**ids, "mountpoint": "/"}) == 3
    assert registry.get_sample_value("foresight_risk_level", {**ids, "mountpoint": "/data"}) == 0
    assert registry.get_sample_value("foresight_observed_value", {**ids, "mountpoint": "/"}) == pytest.approx(
        20 + 0.9 * 89)


def test_one_family_holds_samples_with_different_label_sets():
    collector = PredictionCollector(config().predictors)
    registry = CollectorRegistry()
    registry.register(collector)
    collector.update([
        Prediction("disk", {"service": "node", "service_instance": "h1", "mountpoint": "/"}, T0, 1.0, risk_level=2),
        Prediction("disk", {"service": "api"}, T0, 2.0),
        Prediction("disk", {"service": "api", "exported_severity": "high", "http_route": "/pay"}, T0, 3.0),
    ])
    text = generate_latest(registry).decode()
    assert 'foresight_risk_level{mountpoint="/",predictor="disk",service="node",service_instance="h1"} 2.0\n' in text
    assert 'foresight_risk_level{predictor="disk",service="api"} 0.0\n' in text
    assert ('foresight_risk_level{exported_severity="high",http_route="/pay",predictor="disk",service="api"} 0.0\n'
            in text)
    families = {f.name: f for f in text_string_to_metric_families(text)}  # Prometheus' parser reads it
    assert len(families["foresight_observed_value"].samples) == 3


def test_drop_labels_make_series_that_differ_only_in_them_one_target():
    engine = Engine(config("    drop_labels: [pod]\n"))
    old, new = series("/", pod="api-1"), series("/", pod="api-2")
    rounds = ramp(engine, [(old, 0.5)], minutes=30) + ramp(engine, [(new, 0.5)], minutes=30, start=35)
    keys = {p.key for r in rounds for p in r}
    assert len(keys) == 1 and "pod" not in dict(next(iter(keys))[1])


def test_a_withdrawn_target_does_not_withdraw_its_neighbour():
    """A reset on "/" leaves too few points to predict: only "/" is withdrawn."""
    engine = Engine(config("    min_points: 30\n"))
    ramp(engine, [(series("/"), 0.5), (series("/data"), 0.5)], minutes=40)
    t = T0 + 60 * 40
    engine.add_points("metrics", [Point("node_filesystem_used_bytes", series("/"), t, 1.0, GAUGE),
                                  Point("node_filesystem_used_bytes", series("/data"), t, 40.0, GAUGE)])
    predictions = engine.evaluate()
    assert [dict(k[1])["mountpoint"] for k in engine.withdrawn] == ["/"]
    assert [p.labels["mountpoint"] for p in predictions] == ["/data"]


# -- max_targets -------------------------------------------------------------------------

def test_targets_beyond_max_targets_get_no_prediction_and_are_counted_once(caplog):
    svc = Service(config("    max_targets: 2\n"), Settings())
    labels = [series(m) for m in ("/a", "/b", "/c")]
    with caplog.at_level(logging.WARNING, logger="foresight.predictors.targets"):
        for minute in range(20):
            t = T0 + 60 * minute
            svc.engine.add_points("metrics", [Point("node_filesystem_used_bytes", lb, t, 20.0 + minute, GAUGE)
                                              for lb in labels])
            predictions = svc.engine.evaluate()
            svc.publish(predictions)
    assert {p.labels["mountpoint"] for p in predictions} == {"/a", "/b"}  # the first two seen keep their slots
    assert svc.registry.get_sample_value("foresight_targets_dropped_total", {"predictor": "disk"}) == 1
    assert sum("max_targets=2" in r.getMessage() for r in caplog.records) == 1


def test_a_target_whose_data_stopped_an_hour_ago_gives_its_slot_up():
    engine = Engine(config("    max_targets: 1\n"))
    ramp(engine, [(series("/old"), 0.1)], minutes=10)
    # "/old" stops; "/new" starts and waits until "/old" has been silent for an hour.
    t_new = [T0 + 600 + 60 * i for i in range(80)]
    got = []
    for t in t_new:
        engine.add_points("metrics", [Point("node_filesystem_used_bytes", series("/new"), t, 30.0, GAUGE)])
        got.append((t, [p.labels["mountpoint"] for p in engine.evaluate()]))
    first = next(t for t, mounts in got if mounts)
    assert first - (T0 + 540) >= 3600 and all(m == ["/new"] for _, m in got if m)
    assert engine.targets_dropped() == {"disk": 1}


def test_a_target_whose_series_the_store_evicted_gives_its_slot_up():
    """The store evicts a series idle past its TTL (here 10 minutes, before the index's own
    hour): the predictor forgets it and the waiting target takes the slot."""
    from foresight.store import StoreSettings

    engine = Engine(config("    max_targets: 1\n"), StoreSettings(series_ttl=600))
    ramp(engine, [(series("/old"), 0.1)], minutes=3)
    got = [[p.labels["mountpoint"] for p in r] for r in ramp(engine, [(series("/new"), 0.1)], minutes=30, start=21)]
    assert engine.targets_dropped() == {"disk": 1}
    first = next(i for i, mounts in enumerate(got) if mounts)
    assert 10 <= first < 20 and all(m == ["/new"] for m in got[first:])


# -- incidents and feedback episodes use the same identity ---------------------------------

def at_risk(mountpoint: str, t: float, level: int = 2) -> Prediction:
    return Prediction("disk", output_labels(dict(series(mountpoint))), t, 1.0, risk_level=level)


def test_incidents_keep_two_targets_that_differ_only_in_an_extra_label_apart():
    tracker = IncidentTracker()
    root, data = at_risk("/", T0), at_risk("/data", T0 + 60)
    tracker.assign([root, data])
    assert root.key != data.key and root.incident and root.incident == data.incident  # one host: one incident
    assert set(tracker._at_risk) == {root.key, data.key}
    calm, still = at_risk("/", T0 + 120, level=0), at_risk("/data", T0 + 120)
    tracker.assign([calm, still])
    assert calm.incident is None and still.incident == data.incident  # "/" left; "/data" keeps its incident


def test_feedback_episodes_are_per_target_including_extra_labels():
    loop = FeedbackLoop.events_only({"disk": 0.5}, CollectorRegistry())
    loop.observe([at_risk("/", T0), at_risk("/data", T0)], T0)
    episodes = {e.labels["mountpoint"]: e for e in loop.open.values()}
    assert set(episodes) == {"/", "/data"} and episodes["/"].id != episodes["/data"].id
    loop.observe([at_risk("/", T0 + 60, level=0)], T0 + 60, withdrawn=[at_risk("/data", T0).key])
    assert not episodes["/"].open and episodes["/"].outcome == "receded"
    assert not episodes["/data"].open and episodes["/data"].outcome == "withdrawn"
    loop.observe([at_risk("/data", T0 + 120)], T0 + 120)
    assert [e.labels["mountpoint"] for e in loop.open.values()] == ["/data"]


def test_two_http_routes_of_one_service_get_their_own_anomaly_scores():
    engine = Engine(parse_config("""
predictors:
  - name: latency
    kind: anomaly
    series: http_server_request_duration_seconds_sum
    policy: {min_history: 0s}
"""))
    pay = (("http_route", "/pay"), ("instance", "api-0"), ("job", "api"))
    home = (("http_route", "/home"), ("instance", "api-0"), ("job", "api"))
    rng = np.random.default_rng(1)
    peak = {}  # route -> highest score once /pay has stepped up
    for minute in range(300):
        t = T0 + 60 * minute
        pay_value = 5.0 if minute >= 280 else 1.0 + rng.normal(0, 0.01)
        engine.add_points("metrics", [
            Point("http_server_request_duration_seconds_sum", pay, t, pay_value, GAUGE),
            Point("http_server_request_duration_seconds_sum", home, t, 1.0 + rng.normal(0, 0.01), GAUGE)])
        for p in engine.evaluate():
            if minute >= 280:
                route = p.labels["http_route"]
                peak[route] = max(peak.get(route, 0.0), p.anomaly_score)
    assert set(peak) == {"/pay", "/home"}
    assert peak["/pay"] > 0.9 and peak["/home"] < 0.5
