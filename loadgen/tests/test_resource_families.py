"""The resource kinds added for issue 11 (resource_families, resource_cycles) and the promise
that the kinds before them did not change."""
import hashlib

import numpy as np
import pytest

from loadgen import cli
from loadgen.resource_cycles import CrossingKind, traffic
from loadgen.resource_scenarios import KINDS, generate

START = 1767571200  # 2026-01-05T00:00:00Z, a Monday
DAY = 86400
WEEK = 7 * DAY
CROSSING = [name for name, k in KINDS.items() if isinstance(getattr(k, "inner", k), CrossingKind)]
NEW = ["leak-under-traffic", "pool-traffic-growth", "gc-sawtooth-leak", "disk-rotation-leak",
       "accelerating-leak-restarts", "staircase-leak", "fast-leak", "startup-ramp", "cache-warmup-plateau",
       "pool-traffic-burst", "gappy-leak-under-traffic", "leak-under-bursts", "steady-bursts"]

# sha256 (first 16 hex digits) of times, used, limit and ground truth of seeds 1-6, one week at
# 60 s, for the kinds the committed benchmark tables were made with. They must not move.
FROZEN = {
    "daily-weekly-cycle": "a2d5cec3b59c60f7",
    "cache-sawtooth": "ab392291de2ea125",
    "log-rotation": "37a527923262ec6f",
    "batch-fill-free": "701502b08fabdb9a",
    "deploy-steps": "ecba186c25390bd8",
    "accelerating-leak": "2f53599cf10a488f",
    "leak-stops": "39398e36885fc0b3",
    "oom-restarts": "63087a7ef79ba76b",
    "disk-fill-daily": "9c98d94ac1c77d52",
    "gappy-accelerating-leak": "78ddc6aba64d9c58",
    "gappy-daily-weekly-cycle": "fb1b05a343051d6d",
}


def test_every_kind_is_frozen_or_new():
    assert set(KINDS) == set(FROZEN) | set(NEW)


@pytest.mark.parametrize("kind", list(FROZEN))
def test_kinds_before_issue_11_are_byte_identical(kind):
    digest = hashlib.sha256()
    for seed in range(1, 7):
        r = generate(kind, START, WEEK, 60, seed)
        for a in (r.times, r.used, r.limit):
            digest.update(np.ascontiguousarray(a).tobytes())
        digest.update(repr((r.failures, r.failures_after, r.ramp_starts, r.failing)).encode())
    assert digest.hexdigest()[:16] == FROZEN[kind]


@pytest.mark.parametrize("kind", CROSSING)
def test_a_failure_is_the_first_second_the_curve_reaches_the_limit(kind):
    k = KINDS[kind]
    r = generate(kind, START, WEEK, seed=1)
    assert r.failures
    for ramp, failure in zip(r.ramp_starts, r.failures):
        seconds = np.arange(ramp, failure + 1, dtype=np.int64)
        curve = k.share(seconds, START, 1)
        # share() switches to the next cycle at a restart, so judge the failing second by the
        # cycle's own curve; every second before it, in the same cycle, is below the limit.
        assert np.all(curve[:-1] < 1.0), f"{kind}: limit reached before {failure}"
        inner = getattr(k, "inner", k)
        index = [b for b, _ in inner.cycles(START, 1, failure + 1)].index(ramp)
        assert inner.cycle(np.array([failure]), START, 1, index, ramp)[0] >= 1.0


@pytest.mark.parametrize("kind", [n for n in NEW if not n.startswith("gappy-")])
def test_failing_kinds_fail_in_every_week_and_the_others_stay_clear(kind):
    for seed in range(1, 7):
        r = generate(kind, START, WEEK, seed=seed)
        share = r.used / r.limit
        if KINDS[kind].failing:
            assert r.failures, f"{kind} seed {seed}: no failure in the week"
            assert np.all(np.isin(r.times[share >= 1.0], r.failures))
        else:
            assert not r.failures and not r.failures_after and share.max() < 0.95, f"{kind} seed {seed}"


def test_a_live_run_that_asks_for_later_times_finds_the_same_failures():
    k = KINDS["staircase-leak"].__class__()
    whole = k.cycles(START, 3, START + WEEK)
    fresh = k.__class__()
    for until in range(START + 3600, START + WEEK + 1, 7 * 3600 + 17):
        fresh.cycles(START, 3, until)
    assert fresh.cycles(START, 3, START + WEEK) == whole and len(whole) >= 3
    times = np.arange(START, START + WEEK, 60, dtype=np.int64)
    pieces = np.concatenate([fresh.share(times[i:i + 500], START, 3) for i in range(0, times.size, 500)])
    assert np.array_equal(pieces, k.share(times, START, 3))


def test_the_pool_counts_whole_connections_and_is_full_only_at_a_failure():
    r = generate("pool-traffic-growth", START, WEEK, seed=4)
    assert np.diff(r.times).min() == 30
    assert np.array_equal(r.used, np.floor(r.used)) and r.limit[0] == 100
    assert r.times[r.used >= 100].tolist() == [f for f in r.failures if f in set(r.times.tolist())]
    # Multiplicative growth: the daily peak grows with the traffic, night and day alike.
    day = lambda d: r.used[(r.times >= START + d * DAY) & (r.times < START + (d + 1) * DAY)]  # noqa: E731
    assert np.percentile(day(2), 99) > np.percentile(day(0), 99) and day(2).min() >= day(0).min()


def test_the_gc_sawtooth_is_15_to_25_minutes():
    r = generate("gc-sawtooth-leak", START, DAY, seed=2)
    drops = r.times[1:][np.diff(r.used / r.limit) < -0.15]
    periods = np.diff(drops)
    assert np.diff(r.times).min() == 15 and 15 * 60 <= np.median(periods) <= 25 * 60


def test_a_target_that_starts_mid_run_ramps_up_and_holds():
    r = generate("startup-ramp", START, WEEK, seed=1)
    first = r.times[0]
    assert START + 1.5 * DAY <= first <= START + 4.5 * DAY
    share = r.used / r.limit
    assert share[0] == pytest.approx(0.05, abs=0.005)
    settled = share[r.times >= first + 25 * 60]
    assert 0.3 < settled[0] and settled.max() - settled.min() < 0.2


def test_traffic_has_a_sharp_daily_peak_and_lighter_weekends():
    times = np.arange(START, START + WEEK, 60, dtype=np.int64)
    t = traffic(times, 5)
    weekday, weekend = t[: 5 * 1440].reshape(5, 1440), t[5 * 1440:].reshape(2, 1440)
    assert 0.9 < weekday.max(axis=1).min() and weekday.max(axis=1).max() < 1.2
    assert weekend.max() < 0.9 * weekday.max() and weekday.min() < 0.35


def test_pool_kinds_are_loadgen_scenarios(tmp_path):
    out, fails = tmp_path / "p.csv", tmp_path / "f.csv"
    assert cli.main(["csv", "res-pool-traffic-growth", "--duration", "5d", "--output", str(out),
                     "--failures", str(fails), "--start", "2026-01-05T00:00:00Z"]) == 0
    assert "db_client_connection_count" in out.read_text().splitlines()[0]
    assert len(fails.read_text().splitlines()) == 2  # header and the failure
