"""The feedback loop against a local server speaking Grafana's annotations API."""
import io
import json
import socket

import pytest
from fake_grafana import FakeGrafana
from grafana_client import GrafanaApi
from prometheus_client import CollectorRegistry

from foresight.config import PolicyConfig
from foresight.contracts.predictions import Prediction
from foresight.feedback import FeedbackLoop, FeedbackSettings, log_events_as_json
from foresight.feedback.episodes import policy_probability
from foresight.feedback.events_log import events
from foresight.policy.severity import Policy

SIDECAR, ENGINEER = "sidecar-token", "engineer-token"
H = 3600.0
T0 = 1_700_000_000.0


@pytest.fixture
def grafana():
    with FakeGrafana({SIDECAR: "foresight", ENGINEER: "alice"}) as server:
        yield server


@pytest.fixture
def engineer(grafana):
    """What an engineer does in the Grafana UI: edit an annotation and add a tag."""
    api = GrafanaApi.from_url(grafana.url, credential=ENGINEER)

    def add_tag(annotation_id: int, tag: str):
        current = next(a for a in grafana.annotations.values() if a["id"] == annotation_id)
        api.annotations.partial_update_annotation(annotation_id, tags=current["tags"] + [tag])
    return add_tag


def settings_for(url, tmp_path, **extra):
    return FeedbackSettings.from_mapping({"grafana_url": url, "state_path": str(tmp_path / "feedback.json"),
                                          "token_env": "TEST_GRAFANA_TOKEN", **extra})


def make_loop(url, tmp_path, monkeypatch, base=None, policies=None, **extra):
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", SIDECAR)
    registry = CollectorRegistry()
    loop = FeedbackLoop(settings_for(url, tmp_path, **extra), base or {"memory": 0.5, "disk": 0.5}, registry,
                        policies=policies)
    return loop, registry


def prediction(at, level, p, predictor="memory", service="checkout", failures=0):
    return Prediction(predictor=predictor, labels={"service": service, "service_instance": f"{service}-1"},
                      timestamp=at, observed=0.8, limit=1.0, trend_per_second=1e-6,
                      ttf={0.1: 1800.0, 0.5: 2 * H, 0.9: 5 * H},
                      probability={3600.0: p / 2, 21600.0: p * 0.9, 86400.0: p}, failures_seen=failures,
                      risk_level=level)


def run_episode(loop, start, peaks, predictor="memory", service="checkout", end_failures=0):
    """Quiet, then an episode whose per-step probabilities are `peaks`, then quiet again."""
    loop.observe([prediction(start, 0, 0.1, predictor, service)], start)
    t = start
    for p in peaks:
        t += 60
        loop.observe([prediction(t, 1, p, predictor, service)], t)
    t += 60
    loop.observe([prediction(t, 0, 0.1, predictor, service, failures=end_failures)], t)
    return t


def annotations_of(grafana, episode_tag=None):
    found = sorted(grafana.annotations.values(), key=lambda a: a["id"])
    return [a for a in found if episode_tag is None or episode_tag in a["tags"]]


def still_alerts(threshold, peak):
    """Would the real policy, at this threshold, alert on the episode's peak?"""
    policy = Policy(PolicyConfig(probability=threshold, hysteresis=0.2, min_history=0))
    return policy.decide(("x",), {3600.0: peak / 2, 8 * H: peak * 0.9, 86400.0: peak}) > 0


def test_an_episode_is_written_as_start_and_end_annotations(grafana, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    end = run_episode(loop, T0, [0.6, 0.8, 0.7])
    start, finish = annotations_of(grafana)
    episode = next(t for t in start["tags"] if t.startswith("episode:"))
    assert start["tags"] == ["foresight", "prediction", "predictor:memory", "service:checkout", "severity:info",
                             episode]
    assert finish["tags"] == start["tags"] + ["resolved", "outcome:receded"]
    assert start["time"] == int((T0 + 60) * 1000) and finish["time"] == int(end * 1000)
    assert "checkout (checkout-1)" in start["text"] and "60%" in start["text"] and "2h 0m" in start["text"]
    assert "risk receded" in finish["text"] and "peak probability 80%" in finish["text"]
    assert start["login"] == "foresight"  # written with the sidecar's token
    assert registry.get_sample_value("foresight_annotations_written_total") == 2
    state = json.loads((tmp_path / "feedback.json").read_text())
    (saved,) = state["episodes"]
    assert (saved["start_annotation_id"], saved["end_annotation_id"]) == (start["id"], finish["id"])


def test_a_dismissal_raises_that_predictors_threshold_above_the_peak(grafana, engineer, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    run_episode(loop, T0, [0.55, 0.7, 0.6])
    run_episode(loop, T0, [0.9], predictor="disk")
    memory_start = annotations_of(grafana)[0]
    assert still_alerts(loop.thresholds()["memory"], 0.7)
    engineer(memory_start["id"], "foresight:dismissed")

    changed = loop.poll(T0 + 2 * H)

    assert changed == {"memory": pytest.approx(0.72)}
    assert loop.thresholds() == {"memory": pytest.approx(0.72), "disk": 0.5}
    assert not still_alerts(loop.thresholds()["memory"], 0.7)
    assert registry.get_sample_value("foresight_feedback_total",
                                     {"predictor": "memory", "verdict": "dismissed"}) == 1


def test_a_confirmation_keeps_the_threshold_and_caps_later_dismissals(grafana, engineer, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    run_episode(loop, T0, [0.62], service="checkout")
    run_episode(loop, T0 + 3 * H, [0.8], service="cart")
    confirmed, _, dismissed, _ = annotations_of(grafana)
    engineer(confirmed["id"], "foresight:confirmed")
    assert loop.poll(T0 + 5 * H) == {}
    assert loop.thresholds()["memory"] == 0.5

    engineer(dismissed["id"], "foresight:dismissed")
    changed = loop.poll(T0 + 6 * H)

    # raised, but only to the confirmed peak minus the margin: the confirmed episode still alerts
    assert changed == {"memory": pytest.approx(0.60)}
    assert still_alerts(loop.thresholds()["memory"], 0.62)
    assert registry.get_sample_value("foresight_feedback_total", {"predictor": "memory", "verdict": "confirmed"}) == 1


def test_an_episode_that_ended_in_failure_counts_as_confirmed(grafana, engineer, tmp_path, monkeypatch):
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch)
    run_episode(loop, T0, [0.65], end_failures=1)
    run_episode(loop, T0 + 3 * H, [0.9], service="cart")
    failed_end, dismissed = annotations_of(grafana)[1], annotations_of(grafana)[2]
    assert "outcome:failure" in failed_end["tags"] and "failure happened" in failed_end["text"]
    engineer(dismissed["id"], "foresight:dismissed")
    assert loop.poll(T0 + 6 * H) == {"memory": pytest.approx(0.63)}


def test_feedback_is_processed_once_and_survives_a_restart(grafana, engineer, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    run_episode(loop, T0, [0.7])
    engineer(annotations_of(grafana)[1]["id"], "foresight:dismissed")  # on the end annotation this time
    assert loop.poll(T0 + H) == {"memory": pytest.approx(0.72)}
    assert loop.poll(T0 + 2 * H) == {}
    assert registry.get_sample_value("foresight_feedback_total", {"predictor": "memory", "verdict": "dismissed"}) == 1

    restarted, new_registry = make_loop(grafana.url, tmp_path, monkeypatch)
    assert restarted.thresholds()["memory"] == pytest.approx(0.72)
    assert restarted.poll(T0 + 3 * H) == {}
    # Not counted again after the restart (the series exists from the start, at 0).
    assert new_registry.get_sample_value("foresight_feedback_total",
                                         {"predictor": "memory", "verdict": "dismissed"}) == 0


def test_an_open_episode_continues_after_a_restart(grafana, tmp_path, monkeypatch):
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch)
    loop.observe([prediction(T0, 2, 0.7)], T0)
    restarted, _ = make_loop(grafana.url, tmp_path, monkeypatch)
    restarted.observe([prediction(T0 + 60, 2, 0.75)], T0 + 60)
    restarted.observe([prediction(T0 + 120, 0, 0.1)], T0 + 120)
    start, end = annotations_of(grafana)
    assert [t for t in start["tags"] if t.startswith("episode:")] == [t for t in end["tags"]
                                                                     if t.startswith("episode:")]
    assert "peak probability 75%" in end["text"]


def test_a_withdrawn_prediction_ends_its_episode(grafana, tmp_path, monkeypatch):
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch)
    p = prediction(T0, 3, 0.9)
    loop.observe([p], T0)
    loop.observe([], T0 + 300, withdrawn=[p.key])
    end = annotations_of(grafana)[1]
    assert "outcome:withdrawn" in end["tags"] and end["time"] == int((T0 + 300) * 1000)


def test_a_grafana_that_is_down_is_counted_and_annotations_are_retried(grafana, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    grafana.fail_with = 503
    run_episode(loop, T0, [0.7])
    assert loop.poll(T0 + H) == {}
    assert registry.get_sample_value("foresight_grafana_errors_total", {"operation": "write"}) >= 1
    assert registry.get_sample_value("foresight_grafana_errors_total", {"operation": "read"}) == 2
    assert registry.get_sample_value("foresight_annotation_queue_length") == 2
    assert grafana.annotations == {}

    grafana.fail_with = None
    loop.poll(T0 + 2 * H)
    assert registry.get_sample_value("foresight_annotation_queue_length") == 0
    assert [("resolved" in a["tags"]) for a in annotations_of(grafana)] == [False, True]
    run_episode(loop, T0 + 2 * H + 60, [0.7], service="cart")  # back to writing at once
    assert len(grafana.annotations) == 4


def test_an_unreachable_grafana_does_not_raise(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    loop, registry = make_loop(closed, tmp_path, monkeypatch, max_pending=2)
    for i in range(3):
        run_episode(loop, T0 + i * H, [0.7], service=f"svc{i}")
        loop.poll(T0 + i * H + 1800)
    assert registry.get_sample_value("foresight_grafana_errors_total", {"operation": "read"}) == 6
    assert registry.get_sample_value("foresight_annotation_queue_length") == 2
    assert registry.get_sample_value("foresight_annotations_dropped_total", {"reason": "queue_full"}) == 4


def test_a_wrong_token_is_counted_not_raised(grafana, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_GRAFANA_TOKEN", "not-a-token")
    registry = CollectorRegistry()
    loop = FeedbackLoop(settings_for(grafana.url, tmp_path), {"memory": 0.5}, registry)
    run_episode(loop, T0, [0.7])
    assert loop.poll(T0 + H) == {}
    assert registry.get_sample_value("foresight_grafana_errors_total", {"operation": "read"}) == 2


def test_unusable_feedback_is_counted_and_skipped(grafana, engineer, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    run_episode(loop, T0, [0.7])
    start = annotations_of(grafana)[0]
    engineer(start["id"], "foresight:dismissed")
    engineer(start["id"], "foresight:confirmed")
    api = GrafanaApi.from_url(grafana.url, credential=ENGINEER)  # a hand-made annotation naming no episode
    api.annotations.add_annotation(time_from=int(T0 * 1000), tags=["foresight", "foresight:dismissed"], text="x")
    grafana.annotations[999] = dict(start, id="999", tags=["foresight", "foresight:dismissed"])  # a broken answer
    assert loop.poll(T0 + H) == {}
    assert registry.get_sample_value("foresight_feedback_skipped_total", {"reason": "malformed"}) == 1
    assert registry.get_sample_value("foresight_feedback_skipped_total", {"reason": "conflicting_tags"}) == 1
    assert registry.get_sample_value("foresight_feedback_skipped_total", {"reason": "unknown_episode"}) == 1
    assert loop.thresholds()["memory"] == 0.5


def test_a_corrupt_state_file_is_moved_aside(grafana, tmp_path, monkeypatch):
    (tmp_path / "feedback.json").write_text("{not json")
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch)
    assert loop.thresholds() == {"memory": 0.5, "disk": 0.5}
    assert (tmp_path / "feedback.json.corrupt").read_text() == "{not json"


def test_every_decision_and_feedback_goes_to_the_json_event_log(grafana, engineer, tmp_path, monkeypatch):
    stream = io.StringIO()
    handler = log_events_as_json(stream)
    try:
        loop, _ = make_loop(grafana.url, tmp_path, monkeypatch)
        run_episode(loop, T0, [0.6, 0.61, 0.8])
        engineer(annotations_of(grafana)[0]["id"], "foresight:dismissed")
        loop.poll(T0 + H)
    finally:
        events.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    kinds = [line["event"] for line in lines]
    decisions = [(e["level_from"], e["level_to"]) for e in lines if e["event"] == "alert_decision"]
    assert decisions == [(0, 1), (1, 0)]
    assert len({e["episode"] for e in lines if e["event"] == "alert_decision"}) == 1
    # logged on change only: 0.61 is within 0.05 of 0.6 at the same level
    assert [e["probability"] for e in lines if e["event"] == "prediction"] == [0.1, 0.6, 0.8, 0.1]
    (feedback,) = [e for e in lines if e["event"] == "feedback"]
    assert feedback["verdict"] == "dismissed" and feedback["peak_probability"] == 0.8
    (change,) = [e for e in lines if e["event"] == "threshold_change"]
    assert change["threshold_from"] == 0.5 and change["threshold_to"] == pytest.approx(0.82)
    assert "annotation_written" in kinds and all("time" in e and "level" in e for e in lines)


@pytest.mark.parametrize("data, message", [
    ({"state_path": "s.json"}, "feedback.grafana_url: is required"),
    ({"grafana_url": "grafana:3000", "state_path": "s.json"}, "feedback.grafana_url: 'grafana:3000' is not"),
    ({"grafana_url": "http://g:3000", "state_path": "s.json", "margin": 0.9}, "feedback.margin: 0.9 is outside"),
    ({"grafana_url": "http://g:3000", "state_path": "s.json", "poll_every": "soon"}, "feedback.poll_every: 'soon'"),
    ({"grafana_url": "http://g:3000", "state_path": "s.json", "pol_every": "1m"}, "feedback.pol_every: unknown"),
    ({"grafana_url": "http://g:3000"}, "feedback.state_path: is required"),
])
def test_settings_errors_name_the_field(data, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        FeedbackSettings.from_mapping(data)


def test_a_missing_token_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_GRAFANA_TOKEN", raising=False)
    with pytest.raises(ValueError, match="TEST_GRAFANA_TOKEN"):
        FeedbackLoop(settings_for("http://127.0.0.1:1", tmp_path), {"memory": 0.5}, CollectorRegistry())
    settings = settings_for("http://127.0.0.1:1", tmp_path, token_file=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="feedback.token_file: cannot read"):
        FeedbackLoop(settings, {"memory": 0.5}, CollectorRegistry())


def replay(policy, loop, series, start):
    """Feed per-target probability sequences through the real policy (and the loop, if given)."""
    alerted = set()
    for step in range(max(len(s) for s in series.values())):
        at = start + 60 * step
        batch = []
        for service, values in series.items():
            p = prediction(at, 0, values[min(step, len(values) - 1)], service=service)
            p.risk_level = policy.decide_prediction(p)
            if p.risk_level:
                alerted.add(service)
            batch.append(p)
        if loop is not None:
            loop.observe(batch, at)
    return alerted


def test_the_tuned_threshold_silences_the_dismissed_episode_and_keeps_the_confirmed(grafana, engineer, tmp_path,
                                                                                    monkeypatch):
    series = {"noisy": [0.1, 0.55, 0.7, 0.6, 0.1, 0.1], "leaking": [0.1, 0.6, 0.76, 0.85, 0.1, 0.1]}
    policy = Policy(PolicyConfig(min_history=0))
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch, base={"memory": policy.threshold},
                        policies={"memory": policy.config})
    assert replay(policy, loop, series, T0) == {"noisy", "leaking"}
    for a in annotations_of(grafana):
        if "resolved" not in a["tags"]:
            engineer(a["id"], "foresight:dismissed" if "noisy" in a["text"] else "foresight:confirmed")
    for predictor, threshold in loop.poll(T0 + H).items():
        policy.set_threshold(threshold)

    assert policy.threshold == pytest.approx(0.72)
    assert replay(Policy(policy.config), None, series, T0) == {"noisy", "leaking"}  # the config is unchanged
    policy.levels.clear()
    assert replay(policy, None, series, T0 + 2 * H) == {"leaking"}


def test_anomaly_scores_are_tuned_like_probabilities(grafana, engineer, tmp_path, monkeypatch):
    loop, _ = make_loop(grafana.url, tmp_path, monkeypatch, base={"latency": 0.9})
    for at, level, score in ((T0, 2, 0.93), (T0 + 60, 2, 0.91), (T0 + 120, 0, 0.5)):
        p = Prediction(predictor="latency", labels={"service": "api"}, timestamp=at, observed=None,
                       anomaly_score=score, drivers=["p99 latency is 4x its usual level"], risk_level=level)
        loop.observe([p], at)
    start, end = annotations_of(grafana)
    assert "anomaly score 0.93" in start["text"] and "Why: p99 latency is 4x its usual level" in start["text"]
    assert "peak anomaly score 93%" in end["text"]
    engineer(start["id"], "foresight:dismissed")
    assert loop.poll(T0 + H) == {"latency": pytest.approx(0.95)}  # 0.93 + 0.02, at the ceiling


def test_the_threshold_gauge_is_left_to_the_service(grafana, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch)
    assert registry.get_sample_value("foresight_policy_threshold", {"predictor": "memory"}) is None
    assert loop.thresholds()["memory"] == 0.5


def test_a_failure_the_tuned_threshold_held_back_pulls_it_down(grafana, engineer, tmp_path, monkeypatch):
    loop, registry = make_loop(grafana.url, tmp_path, monkeypatch, policies={"memory": PolicyConfig(min_history=0)})
    run_episode(loop, T0, [0.7])
    engineer(annotations_of(grafana)[0]["id"], "foresight:dismissed")
    assert loop.poll(T0 + H) == {"memory": pytest.approx(0.72)}
    # another target climbs to 0.66: enough for the base threshold, held back by the tuned one
    t = T0 + 2 * H
    for p, failures in ((0.6, 0), (0.66, 0), (0.66, 1), (0.1, 1)):
        loop.observe([prediction(t, 0, p, service="cart", failures=failures)], t)
        t += 60
    assert len(grafana.annotations) == 2  # nothing was written for the silenced episode
    assert registry.get_sample_value("foresight_feedback_total",
                                     {"predictor": "memory", "verdict": "missed_failure"}) == 1
    assert loop.poll(T0 + 3 * H) == {"memory": pytest.approx(0.64)}  # under the missed 0.66 again


def test_the_simulation_replays_verdicts_in_time_order():
    from feedback_replay import Judged, replay
    history = [Judged("m", 0, 10, 0.7, "dismissed"), Judged("m", 20, 30, 0.65, "confirmed"),
               Judged("m", 40, 50, 0.7, "dismissed"), Judged("m", 60, 70, 0.66, "confirmed")]
    result = replay(history, {"m": 0.5})["m"]
    # the second episode is silenced by the first dismissal (0.72), fails, and pulls it to 0.63;
    # from then on the 0.7 false alarm cannot be told from real ones and alerts again
    assert result["counts"] == {"confirmed": [1, 1], "dismissed": [2, 0]}
    assert result["final_threshold"] == pytest.approx(0.63)
    assert replay(history, {"m": 0.5}, learn_missed=False)["m"]["counts"]["confirmed"] == [0, 2]


def test_without_grafana_the_loop_still_logs_every_decision():
    """The sidecar always runs the loop; without Grafana settings it only writes events."""
    stream = io.StringIO()
    handler = log_events_as_json(stream)
    try:
        loop = FeedbackLoop.events_only({"memory": 0.5}, CollectorRegistry())
        run_episode(loop, T0, [0.6, 0.8])
        assert loop.poll(T0 + H) == {}
    finally:
        events.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["level_from"], e["level_to"]) for e in lines if e["event"] == "alert_decision"] == [(0, 1), (1, 0)]
    assert not [e for e in lines if e["event"] in ("annotation_written", "grafana_error")]


def test_the_probability_feedback_reads_is_the_one_the_policy_alerted_on():
    """A target that may only page (young, or without a daily profile before peer_history) is
    judged on its critical window alone, as the policy judges it."""
    policy = PolicyConfig()
    p = Prediction("memory", {"instance": "a"}, 0.0, 0.5, history_seconds=40 * 3600.0, daily_profile_days=0,
                   probability={policy.critical_within: 0.1, policy.warning_within: 0.8, policy.info_within: 0.9})
    assert policy_probability(p, policy) == 0.1
    p.daily_profile_days = 2
    assert policy_probability(p, policy) == 0.9
    assert policy_probability(p, None) == 0.9
