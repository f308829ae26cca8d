from foresight.predictors.exhaustion.model_selection import ModelSelector

H = 3600.0


def run(selector, true_rate, rates, origins, start=0.0, step=H):
    """Origins every `step`; the series grows at `true_rate`; the record scores each candidate."""
    for k in range(origins):
        now = start + k * step
        selector.observe(now, true_rate * now, reset_since=-1.0)
        selector.remember(now, true_rate * now, rates)
    end = start + origins * step + max(selector.horizons)
    selector.observe(end, true_rate * end, reset_since=-1.0)
    return selector.choose()


def test_the_candidate_nearest_the_realised_growth_is_chosen():
    s = ModelSelector(horizons=(4 * H, 8 * H), default="robust-trend", min_origins=6)
    assert run(s, 1.0, {"robust-trend": 2.0, "ets-damped": 1.1}, origins=10) == "ets-damped"
    assert s.mean_error("ets-damped", "robust-trend")[2] == 10


def test_the_default_holds_until_enough_origins_are_scored():
    s = ModelSelector(horizons=(4 * H, 8 * H), default="robust-trend", min_origins=6)
    assert run(s, 1.0, {"robust-trend": 2.0, "ets-damped": 1.0}, origins=5) == "robust-trend"


def test_a_near_tie_does_not_switch():
    s = ModelSelector(horizons=(4 * H, 8 * H), default="robust-trend", margin=0.15)
    assert run(s, 1.0, {"robust-trend": 1.5, "ets-damped": 1.45}, origins=10) == "robust-trend"


def test_a_reset_voids_pending_forecasts():
    s = ModelSelector(horizons=(H, 2 * H), default="robust-trend")
    s.remember(0.0, 0.0, {"robust-trend": 1.0})
    s.observe(3 * H, 0.0, reset_since=H)  # the series was reset after the forecast
    assert not s.pending and not s.scored


def test_missing_candidates_are_compared_only_where_both_forecast():
    s = ModelSelector(horizons=(H,), default="robust-trend", min_origins=3)
    for k in range(6):
        rates = {"robust-trend": 3.0}
        if k >= 3:
            rates["stl-trend"] = 1.0
        s.remember(k * H, k * H, rates)
    s.observe(7 * H, 7 * H, reset_since=-1.0)
    mine, theirs, n = s.mean_error("stl-trend", "robust-trend")
    assert n == 3 and mine < theirs
    assert s.choose() == "stl-trend"
