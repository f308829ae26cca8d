import math

import numpy as np
import pytest

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.engine import Engine

GiB = 2**30
T0 = 1_767_225_600


def engine(extra=""):
    text = f"""
predictors:
  - name: mem
    kind: exhaustion
    series: used
    limit_series: limit
    horizon: 24h
    policy: {{min_history: 0s}}  # these tests look at the model; the age rule has its own test
{extra}"""
    return Engine(parse_config(text))


def feed(e, times, values, limit=2 * GiB, labels=(("job", "checkout"),)):
    preds = []
    for t, v in zip(times, values):
        e.add_points("metrics", [Point("used", labels, t, v, GAUGE), Point("limit", labels, t, limit, GAUGE)])
        preds.extend(e.evaluate())
    return preds


def leak(hours=6.0, rate_per_hour=0.2 * GiB, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, hours * 3600, 60.0)
    return t, 0.6 * GiB + rate_per_hour * (t - T0) / 3600 + rng.normal(0, noise, t.size)


def test_linear_leak_time_to_failure_and_range():
    t, v = leak(noise=10 * 2**20)
    last = feed(engine(), t, v)[-1]
    # At the end: 0.6 + 1.2 = 1.8 GiB used of 2 GiB, +0.2 GiB/h -> about 1 h left.
    assert last.ttf[0.5] == pytest.approx(3600, rel=0.1)
    assert last.ttf[0.1] <= last.ttf[0.5] <= last.ttf[0.9]
    assert last.probability[6 * 3600] > 0.95
    assert 0.15 < last.probability[3600] < 0.85  # the truth is right at the 1 h edge: near a coin flip
    assert last.risk_level >= 2
    assert last.trend_per_second == pytest.approx(0.2 * GiB / 3600, rel=0.05)


def test_flat_series_never_fails():
    t = T0 + np.arange(0, 4 * 3600, 60.0)
    last = feed(engine(), t, np.full(t.size, 0.6 * GiB) + np.sin(t / 600) * 2**20)[-1]
    assert all(math.isinf(v) for v in last.ttf.values())
    assert last.probability[24 * 3600] < 0.05 and last.risk_level == 0


def test_crossing_beyond_horizon_is_inf():
    t, v = leak(hours=3, rate_per_hour=0.01 * GiB)  # about 140 h left
    last = feed(engine(), t, v)[-1]
    assert math.isinf(last.ttf[0.5])


def test_after_a_reset_the_trend_restarts_from_the_new_level():
    t, v = leak(hours=4)
    v[t >= T0 + 3 * 3600] = 0.5 * GiB  # an OOM kill: memory back to baseline and flat
    last = feed(engine(), t, v)[-1]
    assert math.isinf(last.ttf[0.5]) and last.risk_level == 0


def test_draining_resource_towards_a_minimum():
    e = Engine(parse_config("""
predictors:
  - name: free
    kind: exhaustion
    series: free
    limit: 0
    direction: down
"""))
    t = T0 + np.arange(0, 3 * 3600, 60.0)
    v = 100 - 20 * (t - T0) / 3600  # 100 -> 40 over 3 h: 2 h left
    preds = []
    for ti, vi in zip(t, v):
        e.add_points("metrics", [Point("free", (), ti, vi, GAUGE)])
        preds.extend(e.evaluate())
    last = preds[-1]
    assert last.ttf[0.5] == pytest.approx(2 * 3600, rel=0.05)
    assert last.forecast[(3600.0, 0.1)] <= last.forecast[(3600.0, 0.9)]
    assert last.forecast[(3600.0, 0.5)] == pytest.approx(20, abs=2)


def test_already_past_the_limit_is_failure_now():
    t = T0 + np.arange(0, 3600, 60.0)
    last = feed(engine(), t, np.full(t.size, 2.1 * GiB))[-1]
    assert last.ttf[0.5] == 0 and last.probability[3600] == 1.0 and last.risk_level == 3


def test_no_limit_series_means_no_prediction():
    e = engine()
    t, v = leak(hours=1)
    for ti, vi in zip(t, v):
        e.add_points("metrics", [Point("used", (("job", "x"),), ti, vi, GAUGE)])
    assert e.evaluate() == []


def test_evaluations_follow_event_time_not_calls():
    e = engine("    evaluate_every: 10m\n")
    t, v = leak(hours=2)
    preds = feed(e, t, v)
    stamps = [p.timestamp for p in preds]
    assert all(b - a >= 600 for a, b in zip(stamps, stamps[1:]))
    assert len(preds) == pytest.approx((t[-1] - t[9]) / 600 + 1, abs=1)


def test_each_target_gets_its_own_limit_and_labels():
    e = engine()
    t, v = leak(hours=3)
    feed(e, t, v, labels=(("job", "a"),), limit=2 * GiB)
    preds = feed(e, t + 3 * 3600, v, labels=(("job", "b"),), limit=10 * GiB)
    by_service = {p.labels["service"]: p for p in preds}
    assert by_service["b"].limit == 10 * GiB


def test_growth_calibration_learns_the_series_track_record():
    from foresight.predictors.exhaustion.calibration import GrowthCalibration

    cal = GrowthCalibration(check_after=3600, min_samples=3)
    for i in range(5):  # forecasts of +1/s that came true at 1.5x
        cal.remember(i * 60.0, 0.0, 1.0)
    for i in range(5):
        now = 3600 + i * 60.0
        cal.observe(now, value=1.5 * (now - i * 60.0), reset_since=0.0, noise=1.0)
    assert cal.ready() and cal.quantile(0.5) == pytest.approx(1.5)
    assert cal.share_at_least(1.2) > 0.8 and cal.share_at_least(2.0) < 0.2


def test_a_track_record_covers_only_slopes_like_those_it_was_learnt_on():
    from foresight.predictors.exhaustion.calibration import NEW_REGIME, GrowthCalibration

    cal = GrowthCalibration(check_after=3600, min_samples=3)
    for i in range(5):  # a flat spell: small forecasts of growth that never came true
        cal.remember(i * 60.0, 0.0, 0.01 + 0.001 * i)
    for i in range(5):
        cal.observe(3600 + i * 60.0, value=0.0, reset_since=0.0, noise=1.0)
    assert cal.ready() and cal.quantile(0.5) == 0.0
    steepest = NEW_REGIME * float(np.quantile([0.010, 0.011, 0.012, 0.013, 0.014], 0.9))
    assert cal.covers(0.01) and cal.covers(0.99 * steepest)
    assert not cal.covers(1.01 * steepest)  # a leak's growth: that record says nothing about it
    assert GrowthCalibration(check_after=3600).covers(1e9)  # no record (or one from before slopes were kept)


def test_a_track_record_learnt_on_a_steep_climb_does_not_cover_a_slow_leak_after_it():
    from foresight.predictors.exhaustion.calibration import FLATTER, GrowthCalibration

    cal = GrowthCalibration(check_after=3600, min_samples=3)
    for i in range(5):  # a start-up climb: steep forecasts, and it levelled off
        cal.remember(i * 60.0, 0.0, 100.0)
    for i in range(5):
        cal.observe(3600 + i * 60.0, value=0.0, reset_since=0.0, noise=1.0)
    assert cal.ready() and cal.quantile(0.5) == 0.0
    assert cal.covers(100.0) and cal.covers(1.01 * 100.0 / FLATTER)
    assert not cal.covers(0.99 * 100.0 / FLATTER)


def test_growth_calibration_discards_forecasts_from_before_a_reset():
    from foresight.predictors.exhaustion.calibration import GrowthCalibration

    cal = GrowthCalibration(check_after=3600, min_samples=1)
    cal.remember(0.0, 0.0, 1.0)
    cal.observe(4000.0, value=10.0, reset_since=2000.0, noise=1.0)
    assert not cal.ready() and not cal.pending


def test_accelerating_leak_is_foreseen_sooner_than_a_straight_line_says():
    t = T0 + np.arange(0, 10 * 3600, 60.0)
    hours = (t - T0) / 3600
    v = 0.5 * GiB + 0.01 * GiB * hours**2  # accelerating: reaches 2 GiB at about 12.2 h
    last = feed(engine(), t, v)[-1]
    true_ttf = (np.sqrt(1.5 / 0.01) - 10) * 3600
    linear = engine("    lookback: 2h\n")  # the same fit without a track record yet
    first = feed(linear, t[-120:], v[-120:])[-1]
    assert abs(last.ttf[0.5] - true_ttf) < abs(first.ttf[0.5] - true_ttf)
    assert abs(last.ttf[0.5] - true_ttf) / true_ttf < 0.25


def test_young_series_alert_only_when_the_crossing_is_imminent():
    young = Engine(parse_config("""
predictors:
  - name: mem
    kind: exhaustion
    series: used
    limit_series: limit
    policy: {min_history: 3h}
"""))
    t, v = leak(hours=4, rate_per_hour=0.4 * GiB)  # 0.6 -> 2.2 GiB: crosses the limit at 3.5 h
    preds = feed(young, t, v)
    early = [p for p in preds if p.timestamp < T0 + 3 * 3600 - 60]
    assert {p.risk_level for p in early} <= {0, 3}  # no warning or info while young
    assert any(p.risk_level == 3 for p in early)  # but the imminent crossing is critical
    assert preds[-1].risk_level == 3


def test_after_repeated_oom_kills_a_new_cycle_is_predicted_from_its_predecessors():
    e = engine()
    t = T0 + np.arange(0, 20 * 3600, 60.0)
    cycle = 6 * 3600.0
    v = 0.5 * GiB + 1.5 * GiB * ((t - T0) % cycle) / cycle  # 0.5 -> 2 GiB every 6 h, then OOM-killed
    preds = feed(e, t[: int(18 * 60) + 3], v[: int(18 * 60) + 3])  # three kills, then 2 minutes of a new cycle
    last = preds[-1]
    assert last.timestamp == t[18 * 60 + 2]
    # Two minutes into the cycle there are too few points for a fit, but the cycles before it
    # leaked at 0.25 GiB/h to the limit: about 6 h to go.
    assert last.ttf[0.5] == pytest.approx(6 * 3600, rel=0.1)


def test_a_prediction_that_cannot_be_renewed_after_a_reset_is_withdrawn():
    e = engine()
    t, v = leak(hours=3, rate_per_hour=0.45 * GiB)  # 0.6 -> ~1.95 GiB, critical near the end
    preds = feed(e, t, v)
    assert preds[-1].risk_level == 3
    # The OOM kill: back to baseline. Too few points for a new fit, and no earlier cycles to go by.
    e.add_points("metrics", [Point("used", (("job", "checkout"),), t[-1] + 60, 0.5 * GiB, GAUGE)])
    assert e.evaluate() == []
    assert e.withdrawn == [("mem", (("service", "checkout"),))]
    assert e.policies["mem"].levels.get(e.withdrawn[0], 0) == 0


def test_each_prediction_names_its_forecaster():
    t, v = leak(hours=3, noise=10 * 2**20)
    preds = feed(engine(), t, v)
    assert preds[-1].model == "robust-trend"  # the default until the error record speaks


def test_a_slowing_series_moves_to_the_forecaster_with_the_lower_error():
    """Growth that tapers off: the straight robust line keeps overshooting what happens next,
    the damped-trend ETS does not, and the series' own record switches it to ETS."""
    e = engine("    model_refit_every: 30m\n    selection_horizon: 4h\n")
    t = T0 + np.arange(0, 16 * 3600, 60.0)
    rng = np.random.default_rng(7)
    v = 0.3 * GiB + 1.2 * GiB * (1 - np.exp(-(t - T0) / (8 * 3600))) + rng.normal(0, 2**20, t.size)
    preds = feed(e, t, v)
    assert preds[0].model == "robust-trend" and preds[-1].model == "ets-damped"
    state = next(iter(e.predictors[0]._targets.values()))
    mine, theirs, n = state.selector.mean_error("ets-damped", "robust-trend")
    assert n >= 6 and mine < 0.85 * theirs
    assert preds[-1].trend_per_second == state.rates["ets-damped"]  # the chosen rate is the one published


def test_candidates_can_be_restricted_and_are_checked():
    e = engine("    candidates: [robust-trend]\n    model_refit_every: 30m\n    selection_horizon: 2h\n")
    t = T0 + np.arange(0, 16 * 3600, 60.0)
    v = 0.3 * GiB + 1.2 * GiB * (1 - np.exp(-(t - T0) / (4 * 3600)))
    assert {p.model for p in feed(e, t, v)} <= {"robust-trend"}
    with pytest.raises(Exception, match="candidates"):
        engine("    candidates: [prophet]\n")


def test_a_chosen_challenger_never_alerts_where_the_robust_trend_would_not():
    """The crossing probability is the lower of the chosen forecaster's and the robust trend's."""
    settings = "    model_refit_every: 30m\n    selection_horizon: 4h\n"
    t = T0 + np.arange(0, 16 * 3600, 60.0)
    rng = np.random.default_rng(7)
    v = 0.3 * GiB + 1.2 * GiB * (1 - np.exp(-(t - T0) / (8 * 3600))) + rng.normal(0, 2**20, t.size)
    both = feed(engine(settings), t, v)
    robust_only = feed(engine(settings + "    candidates: [robust-trend]\n"), t, v)
    assert [p.timestamp for p in both] == [p.timestamp for p in robust_only]
    challenged = [(a, b) for a, b in zip(both, robust_only) if a.model != "robust-trend"]
    assert challenged
    for a, b in challenged:
        assert all(a.probability[w] <= b.probability[w] + 1e-12 for w in b.probability)
    assert any(a.trend_per_second != b.trend_per_second for a, b in challenged)


def test_a_failing_candidate_fit_is_counted_and_skipped():
    from foresight.predictors.exhaustion.predictor import ExhaustionPredictor
    predictor = next(p for p in engine().predictors if isinstance(p, ExhaustionPredictor))

    def broken(*args):
        raise ValueError("singular")
    assert predictor._safely(broken) is None and predictor.model_fit_errors == 1
    assert predictor._safely(lambda: float("nan")) is None  # a non-finite rate is no forecast
    assert predictor._safely(lambda: 2.0) == 2.0


def young_engine(policy):
    """Default policy: a target is young for its first 36 h, and then may only page critical."""
    return Engine(parse_config(f"""
predictors:
  - name: mem
    kind: exhaustion
    series: used
    limit: 100
    policy: {policy}
"""))


def young_run(values, step=15.0, policy="{first_alert_after: 0s}"):
    """`first_alert_after` off by default here: these tests look at the levelling-off rule."""
    e = young_engine(policy)
    t = T0 + np.arange(len(values)) * step
    out = []
    for ti, v in zip(t, values):
        e.add_points("metrics", [Point("used", (("instance", "a"),), float(ti), float(v), GAUGE)])
        out.extend(e.evaluate())
    return out


def critical_minutes(preds):
    return [(p.timestamp - T0) / 60 for p in preds if p.risk_level == 3]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_start_up_ramp_that_levels_off_is_not_critical_for_long(seed):
    rng = np.random.default_rng(seed)
    minutes = np.arange(4 * 240) / 4  # 4 h at 15 s
    # A new process: 5% -> 40% of its memory limit, time constant 5 min, then flat.
    ramp = 5 + 35 * (1 - np.exp(-minutes / 5)) + rng.normal(0, 0.5, minutes.size)
    critical = critical_minutes(young_run(ramp))
    assert len(critical) <= 1  # far less than the rule's `for: 5m`: no page
    # One that levels off slowly (to 70%, time constant 20 min): critical only while no sign of it shows.
    slow = 5 + 65 * (1 - np.exp(-minutes / 20)) + rng.normal(0, 0.5, minutes.size)
    assert all(m <= 15 for m in critical_minutes(young_run(slow)))


def jvm_warm_up(minutes, heap, tau, seed):
    """A JVM container's working set in % of its limit: an exponential approach from 7% to
    `heap`, with a collector's sawtooth on top (4% of the limit, 18 min teeth) and noise."""
    rng = np.random.default_rng(seed)
    teeth = 4.0 * ((minutes / 18.0 + 0.3 * seed) % 1.0 - 0.5)
    return heap - (heap - 7) * np.exp(-minutes / tau) + teeth + rng.normal(0, 0.4, minutes.size)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_warm_up_with_collector_teeth_that_settles_near_the_limit_does_not_page(seed):
    # A pod's heap settles at 86% of the limit with 4% teeth (peaks near 90%), time constant
    # 10 min. A straight line through the bend of the warm-up scatters its points by several
    # % of the limit, and that scatter kept the levelling fit out: it paged for half an hour.
    # The levelling rise is judged with the noise about its recent trend instead. (A slower
    # warm-up, 25 min, can still be critical for a few minutes where the rise still to come
    # is overestimated; see bench/kubechurn.)
    minutes = np.arange(4 * 240) / 4
    assert critical_minutes(young_run(jvm_warm_up(minutes, 86, 10, seed), policy="{}")) == []


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_a_slow_warm_up_with_collector_teeth_is_not_critical_for_the_rules_for(seed):
    # Time constant 40 min, settling at 80%. Levelling was judged on the window's halves
    # first: a tooth at the end of the recent half tilted its slope, the ceiling came out
    # near 100% and these seeds paged (2-2.5 min of critical). Where the last quarter also
    # shows the rise levelling off, the lower ceiling speaks now. (At 86%, seed 3 is still
    # critical for 2 min: 30 min into a 40 min approach, a leak and a warm-up look alike.)
    minutes = np.arange(4 * 240) / 4
    critical = critical_minutes(young_run(jvm_warm_up(minutes, 80, 40, seed), policy="{}"))
    assert len(critical) < 8, critical  # evaluations 15 s apart: under the 2 min `for:`


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_warm_up_with_collector_teeth_that_goes_on_to_leak_pages(seed):
    minutes = np.arange(5 * 240) / 4
    leaking = jvm_warm_up(minutes, 80, 15, seed) + np.where(minutes > 90, (minutes - 90) * 20 / 120, 0.0)
    full = minutes[np.argmax(leaking >= 100)]  # 20% more an hour and a half after start: full in about 2 h
    critical = critical_minutes(young_run(leaking, policy="{}"))
    assert critical and min(critical) <= full - 10


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_young_target_whose_rise_does_not_level_off_still_pages(seed):
    rng = np.random.default_rng(seed)
    minutes = np.arange(3 * 240) / 4
    fast = 5 + 95 * minutes / 40 + rng.normal(0, 0.5, minutes.size)  # a fast leak from the start: full at 40 min
    critical = critical_minutes(young_run(fast))
    assert critical and critical[0] <= 10
    accelerating = 5 + 95 * (minutes / 120) ** 2 + rng.normal(0, 0.5, minutes.size)  # full at 2 h
    critical = critical_minutes(young_run(accelerating))
    assert critical and critical[0] <= 120 - 30


def test_a_young_rise_that_levels_off_only_near_the_limit_still_pages():
    minutes = np.arange(3 * 240) / 4
    # Levelling off, but at 120% of the limit: it crosses on the way.
    ramp = 5 + 115 * (1 - np.exp(-minutes / 30))
    critical = critical_minutes(young_run(ramp))
    crosses = minutes[np.argmax(ramp >= 100)]
    assert critical and critical[0] <= crosses - 15


def test_nothing_alerts_in_a_targets_first_hour():
    minutes = np.arange(2 * 240) / 4
    fast = 5 + 95 * minutes / 80  # full at 80 min: a page, but only after an hour of watching
    assert min(critical_minutes(young_run(fast, policy="{}"))) == pytest.approx(60, abs=1)
    assert min(critical_minutes(young_run(fast))) <= 25  # the gate off: paged once the crossing is an hour away


def daily_then_leak(leak_per_hour, days=3.0, leak_hours=6.0, seed=0):
    """`days` of a daily cycle (+-0.1 GiB around 0.8 GiB), then a leak on top of it."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, (days * 24 + leak_hours) * 3600, 60.0)
    v = 0.8 * GiB + 0.1 * GiB * np.sin(2 * np.pi * (t - T0) / 86400) + rng.normal(0, 5 * 2**20, t.size)
    began = T0 + days * 86400
    v += np.where(t > began, leak_per_hour * (t - began) / 3600, 0.0)
    return t, v, began


def default_policy_engine():
    return Engine(parse_config("""
predictors:
  - name: mem
    kind: exhaustion
    series: used
    limit_series: limit
"""))


def test_a_daily_cycle_alone_does_not_alert():
    t, v, _ = daily_then_leak(0.0)
    assert max(p.risk_level for p in feed(default_policy_engine(), t, v)) == 0



def test_the_time_to_failure_range_covers_the_fits_doubt_as_well_as_the_track_record():
    # A steady leak under noise: its track record (realised / forecast growth) is narrow, but
    # the lines through the noisy window are not sure of the slope. The p10-p90 range must
    # hold both: the track record alone made it too narrow, and failures came before its p10.
    t, v = leak(hours=12.0, rate_per_hour=0.1 * GiB, noise=20 * 2**20, seed=3)
    t, v = t[v < 1.9 * GiB], v[v < 1.9 * GiB]
    e = engine()
    feed(e, t[:-1], v[:-1])
    e.add_points("metrics", [Point("used", (("job", "checkout"),), t[-1], v[-1], GAUGE),
                             Point("limit", (("job", "checkout"),), t[-1], 2 * GiB, GAUGE)])
    last = e.predict()[-1]  # without refit_pending: the state holds the fit this prediction used
    state = next(iter(e.predictors[0]._targets.values()))
    assert state.calibration.ready() and state.model == "robust-trend"
    gap = 2 * GiB - state.level_at(last.timestamp)
    # ... and the scatter of points about the line: a point reaches the limit first, so the
    # centre is the crossing of a limit nearer by Z80 residual SDs and p10 by twice that.
    scatter = 1.2815515655446004 * state.fit.residual_sd
    assert scatter > 0.01 * gap
    assert 0 < last.ttf[0.1] <= (gap - 2 * scatter) / state.fit.slope_high + 60
    assert last.ttf[0.5] < gap / state.fit.slope
    assert state.fit.slope_low > 0 and last.ttf[0.9] >= gap / state.fit.slope_low - 60


def test_crossing_times_of_a_nearer_or_farther_limit():
    from foresight.predictors.exhaustion.crossing import CrossingPath
    from foresight.predictors.exhaustion.seasonality import BIN_SECONDS, DAY, DailyProfile

    straight = CrossingPath(limit=100.0, level=40.0, now=0.0, horizon=86400.0, profile=None)
    assert straight.times_to_cross([1.0, 1.0, 1.0], [10.0, 0.0, -10.0]) == [50.0, 60.0, 70.0]
    assert straight.times_to_cross([1.0], [70.0]) == [0.0]  # nearer than the level: crossed now
    flat_day = DailyProfile(offsets=np.zeros(int(DAY // BIN_SECONDS)), days=2)
    profiled = CrossingPath(limit=100.0, level=40.0, now=0.0, horizon=86400.0, profile=flat_day)
    assert profiled.times_to_cross([0.01, 0.01], [0.0, 30.0]) == [6000.0, 3000.0]


def nightly_fill(days: int, peaks: list[float]):
    """Used share of a disk: 40%, and from 01:00 each night a batch job writes scratch data up
    to that night's peak over 2 h, holds it 30 min and frees it in 10 min."""
    t = T0 + np.arange(0, days * 86400.0, 60.0)
    since = (t - T0) % 86400 - 3600
    night = ((t - T0) // 86400).astype(int)
    peak = np.array(peaks)[night]
    rise = np.clip(since / 7200, 0, 1) * (since >= 0)
    fall = 1 - np.clip((since - 9000) / 600, 0, 1)
    return t, (0.4 + (peak - 0.4) * np.minimum(rise, fall)) * 2 * GiB


def test_a_nightly_batch_job_that_freed_its_space_before_does_not_page_the_next_night():
    """One earlier cycle that stopped short of the limit: the chance this one reaches it is
    1/3 (the rule of succession), below the default probability of 0.5."""
    t, v = nightly_fill(2, [0.9, 0.9])
    preds = feed(engine(), t, v)
    second = [p for p in preds if p.timestamp >= T0 + 86400]
    assert second and max(p.risk_level for p in second) == 0
    first = [p for p in preds if p.timestamp < T0 + 86400]
    assert max(p.risk_level for p in first) == 3  # the first night nothing told it from a runaway fill


def test_a_batch_job_that_runs_past_its_earlier_peaks_still_pages():
    """Halfway from the highest earlier peak (90%) to the limit is new territory: the chance
    of reaching the limit is 1 again. This fill climbs 45% an hour, so that leaves 6-7 minutes:
    the page comes late, but before the disk is full."""
    t, v = nightly_fill(2, [0.9, 1.3])  # the second night it would fill the disk at 02:20
    full = T0 + 86400 + 3600 + 7200 * (1.0 - 0.4) / (1.3 - 0.4)
    keep = t < full
    preds = feed(engine(), t[keep], v[keep])
    paged = [p.timestamp for p in preds if p.timestamp >= T0 + 86400 and p.risk_level == 3]
    assert paged and full - paged[0] >= 5 * 60
    assert all(p.risk_level == 3 for p in preds if p.timestamp >= paged[0])


def test_the_chance_a_cycle_reaches_the_limit_from_the_cycles_before_it():
    from foresight.predictors.exhaustion.resets import ResetHistory
    history = ResetHistory()
    assert history.reach_probability(80.0, 100.0) == 1.0  # no history
    history.record(1000.0, 90.0, 100.0, 1100.0, 40.0)  # a cycle that stopped at 90%
    assert history.reach_probability(80.0, 100.0) == pytest.approx(1 / 3)
    assert history.reach_probability(96.0, 100.0) == 1.0  # far beyond it: new territory
    history.record(5000.0, 100.0, 100.0, 5100.0, 40.0)  # one that reached the limit
    assert history.reach_probability(80.0, 100.0) == pytest.approx(2 / 3)


def rotated_logs(days: int, leak_per_day: float, seed: int = 0):
    """Used share of a disk whose logs fill it by 25% through the day and are rotated away at
    03:00, over a leak of `leak_per_day` that rotation does not free."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, days * 86400.0, 60.0)
    since_rotation = ((t - T0 - 3 * 3600) % 86400) / 86400
    share = 0.45 + leak_per_day * (t - T0) / 86400 + 0.25 * since_rotation + rng.normal(0, 0.003, t.size)
    return t, share * 2 * GiB


def test_a_leak_under_nightly_log_rotation_is_warned_hours_before_the_day_it_fills_the_disk():
    """Each night's rotation ends a cycle short of the limit, but each cycle peaks higher:
    those past cycles do not make this one likely to stop short."""
    t, v = rotated_logs(7, 0.06)
    full = t[np.argmax(v >= 2 * GiB)]  # the first minute at the limit, on day 5
    keep = t < full
    preds = feed(engine(), t[keep], v[keep])
    warned = [p.timestamp for p in preds if p.risk_level >= 2 and p.timestamp > full - 86400]
    assert warned and full - warned[0] >= 6 * 3600


def test_nightly_log_rotation_without_a_leak_does_not_alert():
    t, v = rotated_logs(7, 0.0)
    preds = feed(engine(), t, v)
    assert max(p.risk_level for p in preds if p.timestamp > T0 + 2 * 86400) == 0


def test_cycles_whose_peaks_climb_to_the_limit_do_not_speak_for_stopping_short():
    from foresight.predictors.exhaustion.resets import ResetHistory
    history = ResetHistory()
    for day, peak in enumerate([70.0, 76.0, 82.0, 88.0]):
        history.record(day * 86400.0, peak, 100.0, day * 86400.0 + 60, 40.0)
    assert history.reach_probability(85.0, 100.0) < 0.5  # the next peak, at about 94, stops short
    history.record(4 * 86400.0, 94.0, 100.0, 4 * 86400.0 + 60, 40.0)
    assert history.reach_probability(85.0, 100.0) == 1.0  # the next, at about 100, does not
    wavering = ResetHistory()
    for day, peak in enumerate([88.0, 82.0, 94.0, 86.0, 93.0]):
        wavering.record(day * 86400.0, peak, 100.0, day * 86400.0 + 60, 40.0)
    assert wavering.reach_probability(85.0, 100.0) < 0.5


def test_a_climb_that_ended_at_the_limit_does_not_carry_over_to_the_cycle_after_it():
    from foresight.predictors.exhaustion.resets import ResetHistory
    history = ResetHistory()
    for n, peak in enumerate([40.0, 50.0, 60.0, 70.0, 100.0]):  # cycles climbing to an OOM kill
        history.record(n * 3600.0, peak, 100.0, n * 3600.0 + 60, 30.0)
    # The restarted cycle, at 45%: one of the four cycles at least this high reached the limit.
    assert history.reach_probability(45.0, 100.0) == pytest.approx(2 / 5)
