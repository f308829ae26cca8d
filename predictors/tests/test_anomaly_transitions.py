"""Tests of the step-novelty check and the quiet period (growing, with a breakthrough) of the anomaly detector."""
import numpy as np
import pytest

from foresight.predictors.anomaly import DetectorSettings, StreamingDetector
from foresight.predictors.anomaly.alarms import QuietPeriod
from foresight.predictors.anomaly.transitions import TransitionNovelty

STEP = 300.0


def feed(novelty: TransitionNovelty, values) -> list[float]:
    return [novelty.update(float(v)) for v in values]


def test_novelty_says_nothing_while_the_bin_width_is_learned_then_knows_those_steps():
    novelty = TransitionNovelty(bins=4, width_rows=10, max_transitions=100)
    assert feed(novelty, np.arange(10.0)) == [None] * 10
    # The steps among the values that set the width are known, not flagged as new.
    # Width 9 / 4: bins 0 0 0 1 1 2 2 3 3 4.
    assert novelty.transitions_known == len({(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 3), (3, 3), (3, 4)})
    assert novelty.update(0.5) == 1.0  # a jump from bin 4 to bin 0 is new
    assert feed(novelty, [1.5, 3.5, 5.5]) == [0.0, 0.0, 0.0]  # steps seen on the way up are known


def test_a_flat_start_waits_for_a_scale():
    novelty = TransitionNovelty(bins=4, width_rows=5, max_transitions=100)
    assert feed(novelty, [3.0] * 20) == [None] * 20  # no range yet: no bins, no flags
    assert novelty.update(7.0) is None  # the first change gives the range; bins start after it
    assert novelty.update(3.0) == 1.0  # the step down was never seen (only 3 -> 3 and 3 -> 7 were)
    assert novelty.update(3.0) == 0.0


def test_repeated_steps_stop_being_new_and_new_territory_is_flagged():
    novelty = TransitionNovelty(bins=4, width_rows=8, max_transitions=100)
    square = [0.0, 0.0, 8.0, 8.0] * 2
    feed(novelty, square)  # range 0..8 -> bin width 2
    # The steps seen while the width was learned are known from the start.
    assert feed(novelty, square * 10) == [0.0] * 80
    assert novelty.update(100.0) == 1.0  # far outside the learned range: its own bin
    assert novelty.update(100.5) == 1.0  # staying up there is a new step once ...
    assert novelty.update(100.2) == 0.0  # ... and then known


def test_remembered_steps_are_capped():
    novelty = TransitionNovelty(bins=4, width_rows=10, max_transitions=50)
    walk = np.cumsum(np.random.default_rng(5).normal(0.0, 5.0, 5000))
    flags = feed(novelty, walk)
    assert novelty.transitions_known == 50
    assert set(flags) <= {None, 0.0, 1.0} and flags[10:].count(None) == 0


def test_quiet_period_grows_with_rows_seen_between_floor_and_cap():
    quiet = QuietPeriod(alarm_level=0.5, quiet_rows=30, quiet_factor=0.0,
                        share_of_seen=0.03, max_rows=1000)
    assert quiet.length(100) == 30
    assert quiet.length(10_000) == 300
    assert quiet.length(10_000_000) == 1000


@pytest.mark.parametrize("rows_seen, expected_quiet", [(0, 30), (5000, 150)])
def test_quiet_period_damps_exactly_its_length(rows_seen, expected_quiet):
    quiet = QuietPeriod(alarm_level=0.5, quiet_rows=30, quiet_factor=0.0,
                        share_of_seen=0.03, max_rows=1000)
    assert quiet.apply(0.9, rows_seen) == 0.9
    damped = [quiet.apply(0.9, rows_seen) for _ in range(expected_quiet)]
    assert damped == [0.0] * expected_quiet
    assert quiet.apply(0.9, rows_seen) == 0.9  # the next alarm gets through


def test_without_growth_the_quiet_period_is_fixed():
    quiet = QuietPeriod(alarm_level=0.5, quiet_rows=30, quiet_factor=0.0)
    assert quiet.length(1_000_000) == 30


def test_a_score_at_the_breakthrough_level_ends_a_quiet_period_opened_below_it_after_quiet_rows():
    quiet = QuietPeriod(alarm_level=0.45, quiet_rows=30, quiet_factor=0.0, share_of_seen=0.03,
                        max_rows=500, breakthrough=0.9)
    assert quiet.apply(0.5, 10_000) == 0.5  # an alarm below the alert level: 300 quiet rows
    assert [quiet.apply(0.95, 10_000) for _ in range(30)] == [0.0] * 30  # the same burst: hidden
    assert quiet.apply(0.8, 10_000) == 0.0  # below the breakthrough level: still hidden
    assert quiet.apply(0.95, 10_000) == 0.95  # a stronger anomaly later: through ...
    assert quiet.rows_left == 300  # ... and it opens a quiet period of its own
    # Opened at the breakthrough level, a quiet period hides everything for its whole length.
    assert [quiet.apply(1.0, 10_000) for _ in range(300)] == [0.0] * 300
    assert quiet.apply(1.0, 10_000) == 1.0


def test_the_breakthrough_is_off_at_or_below_the_alarm_level():
    quiet = QuietPeriod(alarm_level=0.45, quiet_rows=30, quiet_factor=0.0, share_of_seen=0.03,
                        max_rows=500, breakthrough=0.45)
    quiet.apply(0.5, 10_000)
    assert [quiet.apply(1.0, 10_000) for _ in range(300)] == [0.0] * 300


def test_detector_reports_the_novelty_check():
    t = 1_400_000_000.0 + STEP * np.arange(400)
    v = np.random.default_rng(2).normal(0.0, 1.0, 400)
    detector = StreamingDetector()
    for ts, x in zip(t, v):
        detector.update(ts, x)
    assert set(detector.last_tails) == {"level", "range", "shape", "daily", "novelty"}
    assert all(0.0 < p <= 1.0 for p in detector.last_tails.values())


def test_a_step_into_new_territory_alarms_in_a_repeating_jumpy_series():
    # A square wave jumps every few rows; its jumps are ordinary once learned. A jump to
    # a level never seen must still alarm.
    rows = 3000
    t = 1_400_000_000.0 + STEP * np.arange(rows)
    rng = np.random.default_rng(4)
    v = np.where((np.arange(rows) // 7) % 2 == 0, 10.0, 30.0) + rng.normal(0.0, 0.5, rows)
    v[2500:] += 60.0
    detector = StreamingDetector()
    scores = np.array([detector.update(ts, x) for ts, x in zip(t, v)], dtype=float)
    assert scores[2500:2510].max() >= DetectorSettings().alarm_level
    assert scores[1000:2500].max() < scores[2500:2510].max()


@pytest.mark.parametrize("data, message", [
    ({"novelty_bins": 0}, "detector.novelty_bins: 0 is outside"),
    ({"novelty_short_rows": 1.5}, "detector.novelty_short_rows: 1.5 is not a whole number"),
    ({"quiet_share_of_seen": 2.0}, "detector.quiet_share_of_seen: 2.0 is outside"),
    ({"quiet_rows": 500, "quiet_max_rows": 100}, "detector.quiet_max_rows: 100 must be at least quiet_rows (500)"),
    ({"quiet_breakthrough": 1.5}, "detector.quiet_breakthrough: 1.5 is outside [0.0, 1.0]"),
])
def test_bad_new_settings_name_the_field(data, message):
    with pytest.raises(ValueError) as err:
        DetectorSettings.from_mapping(data, "predictors.yaml: anomaly.detector")
    assert "predictors.yaml: anomaly.detector" in str(err.value)
    assert message in str(err.value)


def test_a_lone_high_row_is_damped_but_a_second_one_is_not():
    rows = 600
    t = 1_400_000_000.0 + STEP * np.arange(rows)
    v = 50.0 + np.random.default_rng(8).normal(0.0, 1.0, rows)
    v[500:502] += 9.0  # two unusual rows in a row

    def scores(lone_row_power):
        settings = DetectorSettings(lone_row_power=lone_row_power, quiet_rows=0,
                                    quiet_max_rows=0, quiet_share_of_seen=0.0)
        detector = StreamingDetector(settings)
        return np.array([detector.update(ts, x) for ts, x in zip(t, v)], dtype=float)  # NaN while warming up

    undamped, damped = scores(1.0), scores(3.0)
    assert undamped[499] < undamped[500] ** 3 < undamped[500] < 1.0  # a lone, not extreme row
    assert damped[500] == pytest.approx(undamped[500] ** 3)
    assert damped[501] == pytest.approx(min(undamped[501], max(undamped[500], undamped[501] ** 3)))
    assert damped[501] > damped[500]  # the second unusual row keeps more of its score
    warm = DetectorSettings().warmup_rows
    assert np.isnan(damped[:warm]).all() and np.all(damped[warm:] <= undamped[warm:])


def test_an_extreme_lone_row_keeps_its_full_score():
    rows = 600
    t = 1_400_000_000.0 + STEP * np.arange(rows)
    v = 50.0 + np.random.default_rng(9).normal(0.0, 1.0, rows)
    v[500] += 1000.0
    detector = StreamingDetector()
    scores = [detector.update(ts, x) for ts, x in zip(t, v)]
    assert scores[500] == 1.0
