"""Bin medians (binned.py), read by level shifts and leaks in steps: each bin's median and
first index, whatever the bins' sizes, gaps between them and ties."""
import numpy as np
import pytest

from foresight.predictors.exhaustion.binned import bin_medians, bin_rises, median


def reference(t: np.ndarray, v: np.ndarray, width: float):
    """One bin at a time with np.median: the plain reading of the definition."""
    bins = ((t[-1] - t) // width).astype(np.int64)
    medians, starts = [], []
    for b in sorted(set(bins.tolist()), reverse=True):  # oldest first
        members = np.flatnonzero(bins == b)
        medians.append(float(np.median(v[members])))
        starts.append(int(members[0]))
    return np.array(medians), np.array(starts)


@pytest.mark.parametrize("seed", range(6))
def test_bin_medians_match_one_bin_at_a_time(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 6000))
    t = np.sort(rng.uniform(0.0, n * 15.0, n))
    t = t[(t < 0.3 * t[-1]) | (t > 0.4 * t[-1])] if seed % 2 else t  # a gap of many bins
    v = np.round(rng.normal(0.0, 1.0, t.size), 1 if seed % 3 == 0 else 6)  # ties, or none
    width = float(rng.choice([60.0, 300.0, 900.0]))
    got, starts = bin_medians(t, v, width)
    want, want_starts = reference(t, v, width)
    assert np.array_equal(starts, want_starts)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_one_point_per_bin_and_one_bin():
    t = np.array([0.0, 300.0, 600.0])
    assert bin_medians(t, np.array([3.0, 1.0, 2.0]), 300.0)[0].tolist() == [3.0, 1.0, 2.0]
    assert bin_medians(t, np.array([3.0, 1.0, 2.0]), 1e6)[0].tolist() == [2.0]


def test_bin_rises_and_median():
    rises, usual, spread = bin_rises(np.array([0.0, 1.0, 2.0, 3.0, 10.0]))
    assert rises.tolist() == [1.0, 1.0, 1.0, 7.0] and usual == 1.0 and spread == 0.0
    assert median(np.array([4.0, 1.0, 3.0, 2.0])) == 2.5 == float(np.median([4.0, 1.0, 3.0, 2.0]))
