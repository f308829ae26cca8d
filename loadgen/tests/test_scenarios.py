import numpy as np
import pytest

from loadgen.registry import SCENARIOS, get_scenario
from loadgen.series import Timeline
from loadgen.topology import GIB

START = 1767225600  # 2026-01-01T00:00:00Z
HOUR = 3600
DAY = 24 * HOUR


def watched_columns(name, seed=1, duration=DAY, step=60):
    """The point times, the watched series (picked by its labels) and its limit (series or constant)."""
    scenario = get_scenario(name)
    batch = Timeline(scenario, START, step, seed).next_batch(duration // step)
    w = scenario.watched

    def column(metric, labels):
        found = [values for key, values in batch.values.items()
                 if key.service == w.service and key.metric.prometheus == metric and set(labels) <= set(key.labels)]
        assert len(found) == 1, (metric, labels)
        return found[0]

    limit = column(w.limit_metric, ()) if w.limit_metric else np.full(len(batch.times), w.limit)
    return batch.times, column(w.metric, w.labels), limit


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_same_seed_same_values_other_seed_differs(name):
    first = Timeline(get_scenario(name), START, 60, 1).next_batch(600)
    again = Timeline(get_scenario(name), START, 60, 1).next_batch(600)
    other = Timeline(get_scenario(name), START, 60, 2).next_batch(600)
    for key, values in first.values.items():
        assert np.array_equal(values, again.values[key]), key
    assert any(not np.array_equal(v, other.values[k]) for k, v in first.values.items())


def test_batches_join_into_the_same_series():
    whole = Timeline(get_scenario("error-spike"), START, 15, 3).next_batch(1500)
    timeline = Timeline(get_scenario("error-spike"), START, 15, 3)
    parts = [timeline.next_batch(n) for n in (1, 700, 799)]
    for key, values in whole.values.items():
        assert np.array_equal(values, np.concatenate([p.values[key] for p in parts])), key
    for key, series in whole.histograms.items():
        joined = np.concatenate([p.histograms[key].bucket_counts for p in parts])
        assert np.array_equal(series.bucket_counts, joined), key


@pytest.mark.parametrize(
    "name, expected_hours", [("memory-leak", 8), ("db-pool-saturation", 6), ("disk-fill", 10)]
)
def test_limit_is_reached_near_the_stated_time(name, expected_hours):
    scenario = get_scenario(name)
    failure = scenario.failure_times(START, START + DAY, seed=1)[0]
    assert abs(failure - (START + expected_hours * HOUR)) <= 0.06 * expected_hours * HOUR
    times, usage, limit = watched_columns(name)
    before = times < failure
    assert np.all(usage[before] < limit[before])
    # The last point before the failure is within 1% of the limit.
    assert usage[before][-1] >= 0.99 * limit[before][-1]


def test_failure_times_depend_on_seed():
    scenario = get_scenario("disk-fill")
    assert scenario.failure_times(START, START + DAY, 1) != scenario.failure_times(START, START + DAY, 2)


def test_memory_resets_after_oom_and_leaks_again():
    scenario = get_scenario("memory-leak")
    failures = scenario.failure_times(START, START + DAY, seed=1)
    assert len(failures) == 3  # 8h, then one every ~6h
    times, usage, limit = watched_columns("memory-leak")
    for failure in failures:
        at = np.searchsorted(times, failure)
        assert usage[at - 1] > 0.99 * limit[at - 1]
        assert usage[at] < 0.35 * limit[at]  # back near the 600 MiB baseline
    # Between the restarts the leak climbs again all the way.
    between = (times > failures[0]) & (times < failures[1])
    assert usage[between].max() > 0.99 * 2 * GIB


def test_memory_is_steady_before_the_leak():
    times, usage, _ = watched_columns("memory-leak")
    steady = usage[times < START + 2 * HOUR]
    assert 550 * 2**20 < steady.min() and steady.max() < 720 * 2**20
    assert steady.std() > 5 * 2**20  # GC sawtooth and noise, not a flat line


def test_disk_dips_at_nightly_rotation():
    times, utilization, _ = watched_columns("disk-fill")
    rotation = np.searchsorted(times, START + 3 * HOUR)
    assert utilization[rotation] < utilization[rotation - 1] - 4 * GIB / (200 * GIB)


def test_filesystem_states_add_up_to_its_size_and_utilization_excludes_the_reserve():
    batch = Timeline(get_scenario("disk-fill"), START, 300, 1).next_batch(DAY // 300)
    states = {dict(k.labels)["state"]: v for k, v in batch.values.items() if k.metric.name == "system.filesystem.usage"}
    assert set(states) == {"used", "free", "reserved"}
    assert np.all(states["used"] + states["free"] + states["reserved"] == 210 * GIB)
    utilization = next(v for k, v in batch.values.items() if k.metric.name == "system.filesystem.utilization")
    assert np.allclose(utilization, states["used"] / (states["used"] + states["free"]))
    assert utilization.max() == 1.0 and states["free"].min() == 0  # full, as the failure says


def test_pool_reports_used_and_idle_connections_per_pool():
    batch = Timeline(get_scenario("db-pool-saturation"), START, 60, 1).next_batch(DAY // 60)
    pools = {}
    for key, values in batch.values.items():
        if key.metric.name == "db.client.connection.count":
            labels = dict(key.labels)
            pools[(key.service, labels["db_client_connection_pool_name"], labels["db_client_connection_state"])] = values
    assert set(pools) == {(svc, pool, state) for svc, pool in (("checkout", "db:5432/orders"),
                                                               ("inventory", "db:5432/inventory"))
                          for state in ("used", "idle")}
    used, idle = pools[("checkout", "db:5432/orders", "used")], pools[("checkout", "db:5432/orders", "idle")]
    assert np.all(used + idle <= 100) and idle.max() == 10 and idle.min() == 0  # none idle once saturated


def test_pool_wait_rises_before_saturation():
    scenario = get_scenario("db-pool-saturation")
    saturated = scenario.failure_times(START, START + DAY, 1)[0]
    times = np.arange(START, START + DAY, 60)
    conditions = scenario.conditions(times, START, 1)
    early = conditions.pool_wait_s[times < START + HOUR].mean()
    late = conditions.pool_wait_s[(times > saturated - 30 * 60) & (times < saturated)].mean()
    assert late > 50 * early
    assert np.all(conditions.pool_in_use[times >= saturated] == 100)


def test_error_spike_crosses_five_percent_at_its_failure_time():
    scenario = get_scenario("error-spike")
    spike = scenario.failure_times(START, START + DAY, 1)[0]
    times = np.arange(START, START + DAY, 60)
    ratio = scenario.conditions(times, START, 1).error_ratio["checkout"]
    assert ratio[times < spike].max() < 0.05
    assert ratio[(times >= spike) & (times < spike + 30 * 60)].min() > 0.05


def test_healthy_day_never_reaches_a_limit():
    scenario = get_scenario("healthy-day")
    assert scenario.failure_times(START, START + 7 * DAY, 1) == []
    batch = Timeline(scenario, START, 300, 1).next_batch(7 * DAY // 300)
    c = batch.conditions
    for svc, memory in c.memory_bytes.items():
        limit = next(v for k, v in batch.values.items()
                     if k.service == svc and k.metric.name == "k8s.container.memory_limit")
        assert np.all(memory < 0.8 * limit), svc
    assert c.pool_in_use.max() < 50
    assert c.disk_used_bytes.max() < 0.6 * 200 * GIB
    assert max(r.max() for r in c.error_ratio.values()) < 0.05


def test_request_counts_are_cumulative_from_zero_per_status_code():
    batch = Timeline(get_scenario("healthy-day"), START, 15, 1).next_batch(400)
    counts = {(k.service, dict(k.labels)["http_response_status_code"]): h.counts
              for k, h in batch.histograms.items() if k.metric.name == "http.server.request.duration"}
    assert set(counts) == {(svc, code) for svc in ("frontend", "checkout", "payments", "inventory")
                           for code in ("200", "500")}
    for values in counts.values():
        assert values[0] == 0
        assert np.all(np.diff(values) >= 0)
    assert counts[("checkout", "200")][-1] > 0


def test_unknown_scenario_lists_the_valid_ones():
    with pytest.raises(KeyError) as error:
        get_scenario("memory_leak")
    assert "memory-leak" in str(error.value) and "healthy-day" in str(error.value)


@pytest.mark.parametrize("start_hour", range(24))
def test_disk_stays_below_its_limit_until_full_whatever_the_start_hour(start_hour):
    scenario = get_scenario("disk-fill")
    start = START + start_hour * HOUR
    full = scenario.failure_times(start, start + DAY, 1)[0]
    times = np.arange(start, start + DAY, 60)
    used = scenario.conditions(times, start, 1).disk_used_bytes
    assert np.all(used[times < full - 1800] < 0.99 * 200 * GIB)  # no plateau just under the limit
    assert used[times < full][-1] > 0.99 * 200 * GIB
    assert np.all(used[times >= full] == 200 * GIB)
