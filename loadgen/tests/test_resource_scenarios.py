import numpy as np
import pytest

from loadgen import cli
from loadgen.resource_scenarios import KINDS, generate

START = 1767571200  # 2026-01-05T00:00:00Z, a Monday
WEEK = 7 * 86400


@pytest.mark.parametrize("kind", list(KINDS))
def test_deterministic_and_below_limit_until_each_failure(kind):
    a = generate(kind, START, WEEK, seed=2)
    b = generate(kind, START, WEEK, seed=2)
    assert np.array_equal(a.times, b.times) and np.array_equal(a.used, b.used)
    assert bool(a.failures) == KINDS[kind].failing
    bounds = [START] + a.failures
    for lo, hi in zip(bounds, bounds[1:]):
        inside = (a.times > lo) & (a.times < hi)
        assert np.all(a.used[inside] < a.limit[inside])
    if not a.failures:
        assert np.all(a.used < a.limit)
    for ramp, failure in zip(a.ramp_starts, a.failures):
        assert failure - ramp >= KINDS[kind].min_run_up


def test_gappy_kinds_have_gaps_and_jitter():
    r = generate("gappy-accelerating-leak", START, WEEK, 60, seed=1)
    gaps = np.diff(r.times)
    assert gaps.max() >= 5 * 60 and len(r.times) < WEEK // 60 and np.any(r.times % 60 != 0)


def test_kinds_are_loadgen_scenarios_for_csv(tmp_path):
    out, fails = tmp_path / "s.csv", tmp_path / "f.csv"
    assert cli.main(["csv", "res-oom-restarts", "--duration", "2d", "--output", str(out),
                     "--failures", str(fails), "--start", "2026-01-05T00:00:00Z"]) == 0
    assert out.read_text().splitlines()[0] == "timestamp,process_memory_usage_bytes,k8s_container_memory_limit_bytes"
    assert len(fails.read_text().splitlines()) >= 3
