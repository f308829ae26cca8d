"""A sidecar stopped mid-scenario and started again predicts as if it had never stopped.

Driven through runtime.service.Service with real OTLP payloads (no broker: the Kafka
offsets and rebalances are tested apart, test_replicas.py). With a SQLite store the whole
engine is checkpointed; with PostgreSQL, the state of each partition (handover.py), so here
the messages say which partition they came from and the test plays the group's assignment. The stop comes while the memory target sits between its enter
and leave thresholds: the checkpoint must keep its warning up (hysteresis), not resolve it.
"""
import math

import pytest
from state_helpers import CONFIG, postgres, scenario

from foresight.contracts.severities import WARNING
from foresight.runtime.service import Service, Settings
from foresight_dev.devstack.processes import free_port

AFTER = 60  # minutes compared after the restart


class Recorder(Service):
    """A Service that keeps what each evaluation published."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rounds = []

    def publish(self, predictions):
        self.rounds.append({p.key: p for p in predictions})
        super().publish(predictions)


def service(state: str = "") -> Recorder:
    return Recorder(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}", state=state, checkpoint_every=600))


@pytest.fixture(scope="module")
def batches():
    return scenario()


@pytest.fixture(scope="module")
def uninterrupted(batches):
    svc = service()
    steps = []
    for batch in batches:
        svc.handle(batch)
        steps.append(svc.rounds[-1])
    svc.close()
    return steps


def in_the_band(steps) -> int:
    """The first minute the memory target is at warning while its probability is below the
    entry threshold: only hysteresis keeps the alert up."""
    policy = CONFIG.predictors[0].policy
    for i, step in enumerate(steps):
        for p in step.values():
            if p.predictor == "memory" and p.risk_level == WARNING and i > 120:
                if policy.probability - policy.hysteresis <= p.probability[policy.warning_within] < policy.probability:
                    return i
    raise AssertionError("the scenario never holds the memory warning by hysteresis alone")


PARTITIONS = {"otlp_metrics/0", "otlp_logs/0", "otlp_traces/0"}


def from_partitions(batches) -> list:
    """The batches as Kafka messages: (signal, payload, partition, offset)."""
    offsets, out = {}, []
    for batch in batches:
        out.append([])
        for signal, payload in batch:
            offset = offsets[signal] = offsets.get(signal, -1) + 1
            out[-1].append((signal, payload, f"otlp_{signal}/0", offset))
    return out


def restarted(batches, stop: int, state: str, by_partition: bool = False) -> list:
    if by_partition:
        batches = from_partitions(batches)
    first = service(state)
    keeper = first.handover if by_partition else first.state
    if by_partition:
        assert first._assigned(PARTITIONS) == {}  # nothing saved yet: read from the committed offsets
    for batch in batches[:stop + 1]:
        first.handle(batch)
    first.close()  # what SIGTERM does: a last checkpoint, writes finished
    assert keeper.written >= 1 and keeper.failed == 0
    second = service(state)
    if by_partition:
        # Each partition is read on from the first message its saved state does not hold.
        taken = {partition: offset + 1 for batch in batches[:stop + 1] for _, _, partition, offset in batch}
        assert second._assigned(PARTITIONS) == taken
        assert second.handover.restored > 0
    else:
        assert second.restore()
    steps = []
    for batch in batches[stop + 1:stop + 1 + AFTER]:
        second.handle(batch)
        steps.append(second.rounds[-1])
    second.close()
    return steps


def partitioned(steps: list) -> list:
    """Predictions of the kinds whose state is kept per partition: the logs kind's template
    miner stays with the replica (handover.py) and learns again after a restart."""
    return [{k: p for k, p in step.items() if p.predictor != "log-patterns"} for step in steps]


def assert_same_predictions(expected: list, actual: list):
    assert len(expected) == len(actual)
    compared = 0
    for minute, (want, got) in enumerate(zip(expected, actual)):
        assert set(got) == set(want), minute
        for key, w in want.items():
            g = got[key]
            assert g.risk_level == w.risk_level, (minute, key)
            for q, ttf in w.ttf.items():
                if math.isinf(ttf):
                    assert math.isinf(g.ttf[q]), (minute, key, q)
                else:
                    assert g.ttf[q] == pytest.approx(ttf, rel=0.05), (minute, key, q)
            if w.anomaly_score is not None:
                assert g.anomaly_score == pytest.approx(w.anomaly_score, abs=1e-9), (minute, key)
            compared += 1
    assert compared > AFTER  # every kind was compared, not just one


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_restart_mid_scenario_predicts_as_an_uninterrupted_run(backend, batches, uninterrupted, tmp_path):
    stop = in_the_band(uninterrupted)
    expected = uninterrupted[stop + 1:stop + 1 + AFTER]
    if backend == "sqlite":
        actual = restarted(batches, stop, str(tmp_path / "state.sqlite"))
    else:
        with postgres() as url:
            actual = restarted(batches, stop, url, by_partition=True)
        expected, actual = partitioned(expected), partitioned(actual)
    assert_same_predictions(expected, actual)
    # No firing alert resolves: the warning held by hysteresis is still up after the restart.
    memory = [p for p in actual[0].values() if p.predictor == "memory"]
    assert memory and memory[0].risk_level == WARNING


def test_without_a_checkpoint_the_held_warning_would_resolve(batches, uninterrupted):
    """The contrast that makes the test above meaningful: a fresh sidecar drops the alert."""
    stop = in_the_band(uninterrupted)
    fresh = service()
    for batch in batches[stop + 1:stop + 11]:
        fresh.handle(batch)
    levels = [p.risk_level for step in fresh.rounds for p in step.values() if p.predictor == "memory"]
    assert levels and max(levels) < WARNING
    fresh.close()


def test_a_checkpoint_is_taken_every_few_minutes_of_event_time(batches, tmp_path):
    svc = service(str(tmp_path / "state.sqlite"))
    for batch in batches[:61]:  # one hour: a checkpoint every ten minutes after the first data
        svc.handle(batch)
        svc.state.writer.flush()  # as in real time, where a write ends long before the next is due
    assert svc.state.written == 6 and svc.state.failed == 0
    assert svc.state.written_event_time == svc.engine.store.watermark
    svc.close()
    assert svc.state.written == 7  # and one at shutdown


def test_while_a_write_is_under_way_the_next_checkpoint_waits(batches, tmp_path):
    """A replay faster than the writer does not queue up copies of the state."""
    svc = service(str(tmp_path / "state.sqlite"))
    svc.state.store.write = lambda checkpoint: __import__("time").sleep(1.0)  # a slow store
    for batch in batches[:61]:
        svc.handle(batch)
    assert svc.state.writer.pending() <= 1
    svc.close()


def test_a_row_that_is_not_foresight_state_is_skipped_and_counted(batches, tmp_path):
    import sqlite3

    path = tmp_path / "state.sqlite"
    first = service(str(path))
    for batch in batches[:200]:
        first.handle(batch)
    first.close()
    with sqlite3.connect(path) as db:  # a tampered row: a pickle-style payload where a target was
        db.execute("UPDATE foresight_state SET document = ? WHERE section = 'target' AND name = 'latency'",
                   ('{"py/reduce": [{"py/function": "os.system"}, ["echo owned"]]}',))
    second = service(str(path))
    assert second.restore()
    assert second.state.unreadable == 1
    assert second.registry.get_sample_value("foresight_bad_input_total", {"reason": "unreadable_state_row"}) == 1
    assert len(second.engine.store.windows) == len(first.engine.store.windows)  # the rest came back
    latency = next(p for p in second.engine.predictors if p.config.name == "latency")
    assert not latency._targets  # the tampered target starts afresh...
    second.handle(batches[200])  # ...and the service goes on
    second.close()


def test_a_changed_model_config_starts_that_predictors_models_afresh(batches, tmp_path):
    import dataclasses

    path = str(tmp_path / "state.sqlite")
    first = service(path)
    for batch in batches[:200]:
        first.handle(batch)
    first.close()
    config = dataclasses.replace(CONFIG, predictors=[dataclasses.replace(CONFIG.predictors[0], lookback=3600.0),
                                                     *CONFIG.predictors[1:]])
    second = Recorder(config, Settings(listen=f"127.0.0.1:{free_port()}", state=path))
    assert second.restore()
    memory, latency = second.engine.predictors[0], second.engine.predictors[1]
    assert not memory._targets and latency._targets  # only the changed predictor starts afresh
    assert second.engine.policies["memory"].levels  # its alert levels are kept
    second.close()


def test_an_unreadable_store_means_a_start_without_state(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_text("this is not a SQLite database")
    svc = service(str(path))
    assert not svc.restore()  # logged; the sidecar starts and warms up from Prometheus instead
    svc.close()


def test_the_state_folder_must_exist(tmp_path, capsys):
    from foresight.runtime.cli import main

    config = tmp_path / "p.yaml"
    config.write_text("predictors:\n  - name: m\n    kind: exhaustion\n    series: used\n    limit: 100\n")
    assert main(["run", "-c", str(config), "--state", str(tmp_path / "nope" / "state.sqlite")]) == 2
    assert "nope" in capsys.readouterr().err


def test_warm_up_loads_what_the_predictors_need():
    from foresight.runtime.engine import Engine
    from foresight.runtime.warmup import history_needed

    engine = Engine(CONFIG)
    # exhaustion's daily profile needs season_history (3 days), more than any min_history here
    assert history_needed(engine, 7 * 86400) == 3 * 86400
    assert history_needed(engine, 86400) == 86400  # no more than the windows keep
