"""The trainer's schedule (runtime.trainer): nightly at a set time, on drift with a cooldown."""
import argparse
import datetime as dt

import pytest

from foresight.runtime.trainer import Schedule, Trainer, next_nightly, parse_clock
from foresight.sources.prometheus import PrometheusError


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def test_next_nightly_is_the_next_time_the_clock_reads_it():
    assert next_nightly(at("2026-03-01T01:59:00"), (2, 0)) == at("2026-03-01T02:00:00")
    assert next_nightly(at("2026-03-01T02:00:00"), (2, 0)) == at("2026-03-02T02:00:00")
    assert next_nightly(at("2026-12-31T23:30:00"), (0, 15)) == at("2027-01-01T00:15:00")
    assert parse_clock("02:30") == (2, 30)
    for bad in ("2", "24:00", "02:60", "x:y"):
        with pytest.raises(argparse.ArgumentTypeError, match="HH:MM"):
            parse_clock(bad)


def test_nightly_trains_everything_once_a_night():
    schedule = Schedule(at=(2, 0))
    names = ["memory", "disk"]
    assert schedule.due(at("2026-03-01T01:00:00"), names, set()) == ([], "")
    assert schedule.due(at("2026-03-01T02:00:30"), names, set()) == (names, "nightly")
    assert schedule.due(at("2026-03-01T02:05:00"), names, set()) == ([], "")
    assert schedule.due(at("2026-03-02T02:01:00"), names, set()) == (names, "nightly")


def test_drift_trains_that_predictor_at_once_then_waits_out_the_cooldown():
    schedule = Schedule(at=(2, 0), cooldown=6 * 3600.0)
    names = ["memory", "disk"]
    t = at("2026-03-01T10:00:00")
    assert schedule.due(t, names, {"memory"}) == (["memory"], "drift")
    assert schedule.due(t + 300, names, {"memory"}) == ([], "")  # its flag holds; the cooldown too
    assert schedule.due(t + 600, names, {"memory", "disk"}) == (["disk"], "drift")
    assert schedule.due(t + 6 * 3600, names, {"memory"}) == (["memory"], "drift")
    assert schedule.due(t + 6 * 3600 + 60, names, {"unknown"}) == ([], "")


class _Config:
    predictors = []


def test_a_trainer_without_prometheus_logs_and_goes_on(caplog):
    from foresight_dev.devstack.processes import free_port

    trainer = Trainer(_Config(), f"http://127.0.0.1:{free_port()}", "http://127.0.0.1:1")
    with pytest.raises(PrometheusError, match="cannot reach Prometheus"):
        trainer.drifting()
    assert trainer.tick(at("2026-03-01T10:00:00")) == {}
    assert "drift not read: cannot reach Prometheus" in caplog.text


def test_a_failed_training_is_tried_again_at_the_next_poll(caplog):
    from foresight.config import parse_config
    from foresight_dev.devstack.processes import free_port

    config = parse_config("predictors:\n  - name: memory\n    kind: exhaustion\n    series: used\n    limit: 100\n",
                          "p.yaml")
    down = f"http://127.0.0.1:{free_port()}"
    trainer = Trainer(config, down, down, schedule=Schedule(at=(2, 0)))
    trainer.schedule.nightly_at = at("2026-03-01T02:00:00")
    assert trainer.tick(at("2026-03-01T02:00:10")) == {}
    assert "training of memory failed (nightly)" in caplog.text
    assert trainer.schedule.due(at("2026-03-01T02:05:10"), trainer.names, set()) == (["memory"], "nightly")
