from foresight.config import PolicyConfig
from foresight.contracts.predictions import Prediction
from foresight.contracts.severities import CRITICAL, INFO, NONE, WARNING
from foresight.policy.severity import Policy

H = 3600.0


def probs(p1=0.0, p6=0.0, p24=0.0):
    return {H: p1, 6 * H: p6, 24 * H: p24}


def test_levels_from_probability_windows():
    policy = Policy(PolicyConfig(warning_within=6 * H))
    assert policy.decide("a", probs()) == NONE
    assert policy.decide("b", probs(p24=0.6)) == INFO
    assert policy.decide("c", probs(p6=0.6, p24=1)) == WARNING
    assert policy.decide("d", probs(p1=0.5, p6=1, p24=1)) == CRITICAL


def test_hysteresis_keeps_one_episode_and_then_clears():
    policy = Policy(PolicyConfig(warning_within=6 * H, probability=0.5, hysteresis=0.2))
    sequence = [0.6, 0.45, 0.35, 0.55, 0.25, 0.4]
    levels = [policy.decide("x", probs(p6=p, p24=p)) for p in sequence]
    # enters at 0.6, stays while >= 0.3, drops below 0.3, does not re-enter at 0.4
    assert levels == [WARNING, WARNING, WARNING, WARNING, NONE, NONE]


def test_targets_are_independent():
    policy = Policy(PolicyConfig(warning_within=6 * H))
    policy.decide("x", probs(p6=0.9))
    assert policy.decide("y", probs(p6=0.4)) == NONE


def test_young_targets_only_go_critical_unless_they_have_failed_before():
    policy = Policy(PolicyConfig(warning_within=6 * H, min_history=36 * H))
    assert policy.decide("new", probs(p6=0.9, p24=1), history_seconds=3 * H) == NONE
    assert policy.decide("new", probs(p1=0.9, p6=1, p24=1), history_seconds=3 * H) == CRITICAL
    # Already OOM-killed once: not a new node, so a warning hours ahead is allowed.
    assert policy.decide("oomed", probs(p6=0.9, p24=1), history_seconds=3 * H, failures_seen=1) == WARNING
    assert policy.decide("old", probs(p6=0.9, p24=1), history_seconds=40 * H) == WARNING


def test_a_target_without_a_daily_profile_only_pages_until_peer_history():
    """Its second morning's climb looks like a leak until a daily profile knows it (two days)."""
    config = PolicyConfig(warning_within=6 * H, min_history=36 * H, peer_history=49 * H)
    policy = Policy(config)
    assert policy.decide("a", probs(p6=0.9, p24=1), history_seconds=40 * H, profile_days=0) == NONE
    assert policy.decide("a", probs(p1=0.9, p6=1, p24=1), history_seconds=40 * H, profile_days=0) == CRITICAL
    assert policy.decide("b", probs(p6=0.9, p24=1), history_seconds=40 * H, profile_days=2) == WARNING
    assert policy.decide("c", probs(p6=0.9, p24=1), history_seconds=50 * H, profile_days=0) == WARNING
    assert policy.decide("d", probs(p6=0.9, p24=1), history_seconds=40 * H, profile_days=0, failures_seen=1) == WARNING
    # The policy reads the prediction's profile; peer_history 0s leaves min_history alone to decide.
    young = Prediction("p", {"instance": "a"}, 0.0, 0.5, probability=probs(p6=0.9, p24=1),
                       history_seconds=40 * H, daily_profile_days=0)
    assert Policy(config).decide_prediction(young) == NONE
    assert Policy(PolicyConfig(warning_within=6 * H, peer_history=0)).decide_prediction(young) == WARNING
    assert config.pattern_known_after(0) == 49 * H and config.pattern_known_after(2) == 36 * H
    assert config.pattern_known_after(None) == 36 * H  # kinds without a daily profile
    no_age_rule = Policy(PolicyConfig(warning_within=6 * H, min_history=0))
    assert no_age_rule.decide("e", probs(p6=0.9, p24=1), history_seconds=H, profile_days=0) == WARNING


def test_anomaly_scores_enter_the_configured_severity_with_hysteresis():
    policy = Policy(PolicyConfig(score_threshold=0.9, hysteresis=0.2, score_severity="warning", score_hold=0),
                    scores=True)
    levels = [policy.decide_score("x", s) for s in (0.5, 0.92, 0.75, 0.69, 0.8, None)]
    assert levels == [NONE, WARNING, WARNING, NONE, NONE, NONE]


def test_tuned_threshold_replaces_the_configured_one():
    policy = Policy(PolicyConfig(warning_within=6 * H, probability=0.5))
    policy.set_threshold(0.7)
    assert policy.threshold == 0.7
    assert policy.decide("b", probs(p6=0.65, p24=0.65)) == NONE
    assert policy.decide("c", probs(p6=0.75)) == WARNING
    policy.set_threshold(5.0)  # clamped into (hysteresis, 1]
    assert policy.threshold == 1.0


def test_a_detection_holds_its_level_for_score_hold():
    policy = Policy(PolicyConfig(score_threshold=0.5, score_hold=900), scores=True)
    scores = [(0, 0.1), (60, 0.6), (120, 0.0), (900, 0.0), (960, 0.0), (1020, 0.0)]
    levels = [policy.decide_score("x", s, t) for t, s in scores]
    # Detected at t=60: held through t=900 (< 60 + 900), released at t=960.
    assert levels == [NONE, WARNING, WARNING, WARNING, NONE, NONE]


def test_a_young_target_raises_no_anomaly_alert():
    policy = Policy(PolicyConfig(score_threshold=0.5, min_history=36 * H), scores=True)
    assert policy.decide_score("x", 0.99, now=H, history_seconds=10 * H) == NONE
    assert policy.decide_score("x", 0.99, now=40 * H, history_seconds=40 * H) == WARNING
