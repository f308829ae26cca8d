"""The garbage collector's settings for long-running loops (runtime/heap.py)."""
import gc

import pytest

from foresight.runtime import cli
from foresight.runtime.heap import THRESHOLDS, collector_paused, freeze_startup_state, tune_collector


@pytest.fixture
def restore_collector():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_collector_sets_the_thresholds(restore_collector):
    gc.set_threshold(700, 10, 10)
    tune_collector()
    assert gc.get_threshold() == THRESHOLDS
    assert THRESHOLDS[0] > 700  # young collections far rarer than Python's default


def test_freeze_moves_the_live_state_out_of_the_collectors_sight(restore_collector):
    gc.unfreeze()
    state = [[k] for k in range(1000)]  # long-lived state built at start-up (lists: always tracked)
    assert id(state) in {id(o) for o in gc.get_objects()}
    freeze_startup_state()
    assert gc.get_freeze_count() >= len(state)
    tracked = {id(o) for o in gc.get_objects()}
    assert id(state[0]) not in tracked and id(state) not in tracked
    later = [[0]]  # made after the freeze: the collector still sees it
    assert id(later) in {id(o) for o in gc.get_objects()}


def test_collector_paused_inside_and_restored_after(restore_collector):
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a failed loop")
    assert gc.isenabled()  # restored on an exception too


def test_collector_paused_leaves_a_disabled_collector_disabled(restore_collector):
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_backtest_runs_with_the_tuned_collector(tmp_path, restore_collector):
    gc.set_threshold(700, 10, 10)
    config = tmp_path / "c.yaml"
    config.write_text("predictors:\n  - name: used\n    kind: exhaustion\n    series: used\n    limit: 100\n")
    data = tmp_path / "d.csv"
    data.write_text("timestamp,used\n" + "".join(f"{1767571200 + 60 * k},{10 + k * 0.01}\n" for k in range(30)))
    assert cli.main(["backtest", "-c", str(config), "--output-dir", str(tmp_path / "out"), str(data)]) == 0
    assert gc.get_threshold() == THRESHOLDS
