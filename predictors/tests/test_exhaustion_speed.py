"""The exhaustion model's fast paths give exactly what the plain computations give.

Each shortcut taken for the evaluation loop's cost (bench/scale/evaluate.py) is compared,
value for value, with the computation it replaced: statsmodels' own Holt fit, a fully
sorted Theil-Sen, a crossing searched one slope and one window at a time, quantiles taken
one by one, bins matched by np.intersect1d, medians and spreads by numpy's own, every grid
time searched for a crossing, each window's probability on its own, and the past cycles'
summary worked out at every evaluation, quantiles by np.quantile.
"""
import math
import warnings

import numpy as np
import pytest

from foresight.predictors.exhaustion.calibration import GrowthCalibration
from foresight.predictors.exhaustion.crossing import CrossingPath
from foresight.predictors.exhaustion.forecasters import _ETS_PARAMS, ets_damped_rate, load_statsmodels
from foresight.predictors.exhaustion.peaks import _common, excess_over_means, today_ratio
from foresight.predictors.exhaustion.seasonality import DAY, DailyProfile
from foresight.predictors.exhaustion.trends import Z80, TrendFit, _pairs, theil_sen
from foresight.store import means_per_bin


def _statsmodels_rate(t, v, horizon):
    """ets_damped_rate as it was: statsmodels' ExponentialSmoothing fit and forecast."""
    from foresight.predictors.exhaustion.forecasters import _ETS_MIN_POINTS, _ETS_STEP, bin_means

    bt, bv = bin_means(t, v, _ETS_STEP)
    if bt.size > 1 and bt[0] - t[0] < 0.5 * _ETS_STEP:
        bt, bv = bt[1:], bv[1:]
    if bv.size < _ETS_MIN_POINTS or np.ptp(bv) == 0:
        return 0.0 if bv.size >= _ETS_MIN_POINTS else None
    ExponentialSmoothing, _, _ = load_statsmodels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(bv, trend="add", damped_trend=True,
                                   initialization_method="estimated").fit(optimized=False, **_ETS_PARAMS)
    steps = max(1, int(round(horizon / _ETS_STEP)))
    return float((fit.forecast(steps)[-1] - fit.level[-1]) / (steps * _ETS_STEP))


def test_ets_rate_equals_statsmodels_bit_for_bit():
    rng = np.random.default_rng(11)
    compared = short = 0
    for _ in range(150):
        hours = int(rng.integers(2, 30))
        t = 1.7e9 + np.arange(0, hours * 3600.0, float(rng.choice([15.0, 60.0, 300.0])))
        t = t[rng.random(t.size) > rng.choice([0.0, 0.4])]  # some with gaps
        v = (rng.uniform(-50, 50) + (t - t[0]) * rng.normal() * 1e-3
             + rng.normal(size=t.size) * rng.uniform(0, 3)) * rng.choice([1.0, 1e6])
        horizon = float(rng.choice([3600.0, 8 * 3600.0, 100.0]))
        ours, theirs = ets_damped_rate(t, v, horizon), _statsmodels_rate(t, v, horizon)
        assert ours == theirs, (t.size, horizon, ours, theirs)
        compared += ours is not None
        short += ours is not None and hours < 3  # under 10 bins: statsmodels' simple start
    assert compared > 100 and short > 0


def _theil_sen_sorted(x, y):
    """theil_sen as it was: every pairwise slope sorted."""
    i, j = _pairs(x.size)
    dx = x[j] - x[i]
    ok = dx != 0
    slopes = np.sort((y[j] - y[i])[ok] / dx[ok])
    m = slopes.size
    if m == 0:
        return 0.0, 0.0, 0.0
    n = x.size
    sigma = math.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    low = slopes[max(int(round((m - Z80 * sigma) / 2.0)), 0)]
    high = slopes[min(int(round((m + Z80 * sigma) / 2.0)) - 1, m - 1)]
    return float(slopes[(m - 1) // 2] + slopes[m // 2]) / 2, float(low), float(high)


def test_theil_sen_partial_sort_equals_full_sort():
    rng = np.random.default_rng(12)
    for case in range(400):
        n = int(rng.integers(1, 60))
        x = np.sort(rng.uniform(-7200, 0, n))
        if case % 7 == 0 and n > 3:
            x[2] = x[1]  # tied times: pairs left out
        y = rng.normal(size=n) * 5 + x * rng.normal() * 1e-3
        if case % 5 == 0:
            y = np.round(y)  # many equal slopes
        if case % 31 == 0 and n > 1:
            y[0] = np.nan
        if case % 37 == 0 and n > 2:
            y[-2:] = np.inf  # inf - inf: a NaN slope from values that are not NaN
        if case % 11 == 0:
            x = rng.permutation(x)  # times out of order: the general path
        assert str(theil_sen(x, y)) == str(_theil_sen_sorted(x, y))


def test_crossing_search_equals_one_slope_and_one_window_at_a_time():
    rng = np.random.default_rng(13)
    now = 1767571200.0 + 3 * 3600 + 17 * 60
    offsets = rng.normal(size=288) * 5
    profile = DailyProfile(offsets - offsets.mean(), 3)
    for _ in range(50):
        level = float(rng.uniform(40, 95))
        path = CrossingPath(100.0, level, now, 24 * 3600.0, profile)
        slopes = list(rng.normal(size=3) * 1e-3)
        assert path.times_to_cross(slopes) == [path.time_to_cross(s) for s in slopes]
        grid = np.arange(300.0, 24 * 3600.0 + 150.0, 300.0)
        gaps = 100.0 - level - profile.at(now + grid)
        for within in (299.0, 3600.0, 8 * 3600.0, 24 * 3600.0, 30 * 3600.0):
            upto = grid <= within
            expected = float(np.min(gaps[upto] / grid[upto])) if upto.any() else path.gap_now / within
            assert path.needed_slope(within) == expected
        fit = TrendFit(level, slopes[0], min(slopes), max(slopes), 1.0)
        assert 0.0 <= path.probability(fit, 3600.0, None) <= 1.0


def _first_crossing(path, slope, nearer):
    """The crossing search as it was: every grid time tested, for one slope."""
    if path.gap_now <= nearer:
        return 0.0
    hits = np.flatnonzero(slope * path.grid >= path.gaps - nearer)
    return float(path.grid[hits[0]]) if hits.size else math.inf


def test_out_of_reach_shortcut_equals_the_whole_search():
    rng = np.random.default_rng(21)
    shortcut = searched = 0
    for _ in range(3000):
        offsets = rng.normal(size=288) * rng.uniform(0.1, 10)
        profile = DailyProfile(offsets - offsets.mean(), 3)
        now = 1767571200.0 + float(rng.uniform(0, DAY))
        path = CrossingPath(100.0, float(rng.uniform(0, 110)), now, float(rng.choice([3600.0, DAY, 2 * DAY])), profile)
        slopes = sorted(rng.normal(size=3) * 10 ** rng.uniform(-6, -2), reverse=True)
        sd = abs(float(rng.normal())) * 2
        nearer = [2 * sd, sd, 0.0]
        reach = path.gap_now > 0 and path._out_of_reach(slopes, nearer)
        shortcut += reach
        searched += not reach
        assert path.times_to_cross(slopes, nearer) == [_first_crossing(path, s, d) for s, d in zip(slopes, nearer)]
    assert shortcut > 500 and searched > 500  # both ways were compared


def _probability_as_it_was(path, fit, within, calibration):
    if path.gap_now <= 0:
        return 1.0
    needed = path.needed_slope(within)
    if calibration is not None:
        return 1.0 if needed <= 0 else calibration.share_at_least(needed / fit.slope)
    spread = fit.spread(within)
    shortfall = (needed - fit.slope) * within
    if spread <= 0:
        return 1.0 if shortfall <= 0 else 0.0
    return 0.5 * math.erfc(shortfall / spread / math.sqrt(2))


def test_probabilities_of_all_windows_equal_one_window_at_a_time():
    rng = np.random.default_rng(22)
    record = GrowthCalibration(check_after=60.0)
    for k in range(30):
        record.remember(60.0 * k, 10.0, 1.0)
        record.observe(60.0 * k, 10.0 + 60.0 * rng.uniform(0.5, 2), reset_since=-math.inf, noise=0.0)
    windows = [3600.0, 6 * 3600.0, DAY]
    for case in range(500):
        profile = DailyProfile(rng.normal(size=288) * 3, 3) if case % 2 else None
        path = CrossingPath(100.0, float(rng.uniform(20, 105)), 1767571200.0 + 3600.0 * case, DAY, profile)
        slope = float(rng.normal() * 1e-3)
        sd = 0.0 if case % 5 == 0 else abs(float(rng.normal()))
        fit = TrendFit(50.0, slope, slope - 1e-4 * (case % 3), slope + 1e-4 * (case % 3), sd)
        for calibration in (None, record if slope > 0 else None):
            assert path.probabilities(fit, windows, calibration) == [
                _probability_as_it_was(path, fit, w, calibration) for w in windows]


def test_reach_probability_equals_numpy_on_the_history_as_it_grows():
    from foresight.predictors.exhaustion.resets import ResetHistory, _after_last, climbing_to

    def as_it_was(peaks, level, limit):
        values, reached = np.array([p for p, _ in peaks]), np.array([r for _, r in peaks])
        top = values.max()
        if level > top + 0.5 * (limit - top) or climbing_to(values[_after_last(reached):], limit):
            return 1.0
        comparable = values >= min(level, float(np.median(values)))
        went = int(reached[comparable].sum())
        return (went + 1) / (int(comparable.sum()) + (1 if went else 2))

    rng = np.random.default_rng(23)
    for _ in range(40):
        history = ResetHistory()
        for _ in range(int(rng.integers(1, 12))):  # each new cycle must be seen at once
            peak = float(rng.choice([100.0, rng.uniform(50, 99)]))
            history.peaks.append((peak, peak >= 100.0) if rng.random() < 0.5 else [peak, peak >= 100.0])  # restored: lists
            for level in rng.uniform(40, 100, 5):
                assert history.reach_probability(float(level), 100.0) == as_it_was(history.peaks, float(level), 100.0)


def test_sorted_quantiles_equal_numpy_bit_for_bit():
    from foresight.predictors.exhaustion.calibration import sorted_quantiles

    rng = np.random.default_rng(24)
    qs_all = [(0.5, 0.9), (0.9, 0.5, 0.1), (0.1,), (0.0, 1.0), (0.25, 0.75, 1 / 3)]
    for case in range(4000):
        n = int(rng.integers(1, 160))
        a = [rng.normal(size=n) * 10 ** rng.uniform(-6, 3), rng.integers(0, 5, n).astype(float),
             rng.lognormal(size=n), np.round(rng.normal(size=n), 2)][case % 4]
        if case % 97 == 0:
            a[rng.integers(0, n)] = rng.choice([np.inf, -np.inf, np.nan])
        qs = qs_all[case % len(qs_all)]
        got, want = sorted_quantiles(np.sort(a), qs), np.quantile(a, qs).tolist()
        assert np.array_equal(got, want, equal_nan=True), (a, qs, got, want)


def test_profile_at_one_time_equals_the_array_form():
    profile = DailyProfile(np.arange(288, dtype=float), 2)
    for t in (1767571200.0, 1767571200.0 + 299.999, 1767571200.0 + DAY - 1e-6, 1767571200.0 + 12345.678):
        assert profile.at(t) == profile.at(np.array([t]))[0]


def test_calibration_quantiles_follow_each_new_multiplier():
    record = GrowthCalibration(check_after=60.0)
    qs = (0.9, 0.5, 1 - 0.9)
    for k in range(40):
        record.remember(60.0 * k, 10.0, 1.0)
        record.observe(60.0 * k, 10.0 + 60.0 * (1 + 0.05 * (k % 7)), reset_since=-math.inf, noise=0.0)
        if record.ready():
            assert record.quantiles(qs) == [record.quantile(q) for q in qs]
    before = record.quantiles(qs)
    for k in range(40, 60):  # a burst of faster growth moves the upper quantile
        record.remember(60.0 * k, 10.0, 1.0)
        record.observe(60.0 * k, 10.0 + 60.0 * 5, reset_since=-math.inf, noise=0.0)
    assert record.quantiles(qs) == [record.quantile(q) for q in qs]
    assert record.quantiles(qs)[0] > before[0]


@pytest.mark.parametrize("size", [5, 48])
def test_theil_sen_of_a_line(size):
    x = np.arange(size, dtype=float) * 60.0
    slope, low, high = theil_sen(x, 3.0 + 0.5 * x)
    assert slope == low == high == 0.5


def test_bin_matching_equals_intersect1d():
    rng = np.random.default_rng(14)
    for case in range(500):
        a = np.unique(rng.integers(0, 40, int(rng.integers(0, 20)))).astype(float)
        b = np.unique(rng.integers(0, 40, int(rng.integers(0, 20)))).astype(float)
        if case % 9 == 0:
            b = b[::-1]  # not increasing: the general path
        expected = np.intersect1d(a, b, return_indices=True)[1:]
        got = _common(a, b)
        assert all(np.array_equal(g, e) for g, e in zip(got, expected)), (a, b)


def _today_ratio_numpy(t_now, v_now, t_then, v_then):
    """today_ratio as it was: np.intersect1d, np.median and np.std."""
    a_t, a_v = means_per_bin(t_now, v_now, 300.0)
    b_t, b_v = means_per_bin(t_then + DAY, v_then, 300.0)
    common, ia, ib = np.intersect1d(np.floor(a_t / 300.0), np.floor(b_t / 300.0), return_indices=True)
    if common.size < 6 or (b_v[ib] <= 0).any() or (a_v[ia] <= 0).any():
        return None
    ratios = a_v[ia] / b_v[ib]
    return float(np.median(ratios)), float(ratios.std(ddof=1) / math.sqrt(ratios.size))


def _excess_numpy(t, v):
    """excess_over_means as it was, with np.median."""
    bins = np.floor(t / 300.0)
    firsts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    counts = np.diff(np.r_[firsts, t.size])
    highest = np.maximum.reduceat(v, firsts)
    means = np.add.reduceat(v, firsts) / counts
    return float(np.median((highest - means)[counts > 1])) if (counts > 1).any() else 0.0


def test_today_ratio_and_excess_equal_numpy_bit_for_bit():
    rng = np.random.default_rng(15)
    now = 1767571200.0 + 9 * 3600
    for case in range(300):
        step = float(rng.choice([15.0, 30.0, 60.0, 300.0]))
        t = np.arange(now - 3600.0, now, step)
        t = t[rng.uniform(size=t.size) > (0.5 if case % 4 == 0 else 0.05)]  # gaps
        v = rng.lognormal(0.0, 0.3, t.size) * (1.0 if case % 13 else -1.0)  # some not positive: no ratio
        then = t - DAY + (rng.integers(-2, 3) * step if case % 3 == 0 else 0.0)
        assert today_ratio(t, v, then, v[::-1].copy()) == _today_ratio_numpy(t, v, then, v[::-1].copy())
        assert excess_over_means(t, v) == _excess_numpy(t, v)
