"""`foresight trainer`: retrains on a schedule and when drift fires, and registers challengers.

- Nightly: at `--at` (HH:MM, UTC) every predictor that reads series is trained on the last
  `--history` of Prometheus and registered (runtime.train, the alias `challenger`).
- On drift: every `--poll`, Prometheus is asked which predictors' champions drift
  (`max by (predictor) (foresight_model_drift) == 1`, what ForesightModelDrift alerts on);
  each is retrained at once, then not again for `--cooldown` (a detection holds for hours).
- A failed training (Prometheus or the registry away, no data) is logged and tried again
  at the next poll; the trainer keeps running.

The challengers then run in shadow in the sidecars (runtime.shadow); promote one by hand
or with `foresight promote --auto`.
"""
import argparse
import dataclasses
import datetime as dt
import logging
import sys
import threading
import time

from foresight.config import ConfigError, load_config
from foresight.contracts.durations import parse_duration
from foresight.contracts.metric_names import MODEL_DRIFT
from foresight.lifecycle.bundles import BundleError
from foresight.lifecycle.registry import RegistryError
from foresight.sources.csv_table import BacktestError
from foresight.sources.prometheus import PrometheusError, _get

from .backtest_prometheus import History
from .train import prometheus_source, run_training

log = logging.getLogger(__name__)
DRIFTING = f"max by (predictor) ({MODEL_DRIFT}) == 1"


def next_nightly(now: float, at: tuple[int, int]) -> float:
    """The next time (unix seconds, after `now`) the clock reads `at` (hour, minute) UTC."""
    day = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    when = day.replace(hour=at[0], minute=at[1], second=0, microsecond=0)
    if when.timestamp() <= now:
        when += dt.timedelta(days=1)
    return when.timestamp()


def parse_clock(text: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a time of day as HH:MM (UTC), such as 02:00") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise argparse.ArgumentTypeError(f"{text!r}: give a time of day as HH:MM (UTC), such as 02:00")
    return hour, minute


@dataclasses.dataclass
class Schedule:
    """When to train what: nightly, and on drift with a cooldown per predictor."""
    at: tuple = (2, 0)
    cooldown: float = 6 * 3600.0
    nightly_at: float | None = None  # the next nightly run
    last_drift: dict = dataclasses.field(default_factory=dict)  # predictor -> when drift last made it train

    def due(self, now: float, names: list, drifting: set) -> tuple[list, str]:
        """(predictors to train now, why); ([], "") when nothing is due."""
        if self.nightly_at is None:
            self.nightly_at = next_nightly(now, self.at)
        if now >= self.nightly_at:
            self.nightly_at = next_nightly(now, self.at)
            return list(names), "nightly"
        due = [n for n in names if n in drifting and now - self.last_drift.get(n, -float("inf")) >= self.cooldown]
        for name in due:
            self.last_drift[name] = now
        return due, "drift" if due else ""


class Trainer:
    def __init__(self, config, prometheus: str, registry: str, history: float = 7 * 86400.0,
                 schedule: Schedule | None = None, step: float = 60.0, experiment: str = "foresight"):
        self.config, self.prometheus, self.registry = config, prometheus, registry
        self.history, self.step, self.experiment = history, step, experiment
        self.schedule = schedule or Schedule()
        self.names = [p.name for p in config.predictors if p.series is not None]

    def drifting(self) -> set:
        """The predictors whose champion drifts now, from Prometheus (PrometheusError when it cannot say)."""
        data = _get(self.prometheus, "/api/v1/query", {"query": DRIFTING}, f"query {DRIFTING}", 10.0)
        return {r["metric"].get("predictor", "") for r in data.get("result", [])} & set(self.names)

    def train(self, names: list, end: float) -> dict:
        """Train `names` on [end - history, end]; returns {predictor: registered version}."""
        config = dataclasses.replace(self.config, predictors=[p for p in self.config.predictors if p.name in names])
        history = History(self.prometheus, end - self.history, end, self.step)
        result = run_training(config, prometheus_source(config, history), None, self.registry, self.experiment,
                              progress=False)
        return result.versions

    def tick(self, now: float, data_end: float | None = None) -> dict:
        """One look at the schedule and the drift flags; trains what is due. Errors are logged."""
        try:
            drifting = self.drifting()
        except PrometheusError as exc:
            log.warning("drift not read: %s", exc)
            drifting = set()
        names, why = self.schedule.due(now, self.names, drifting)
        if not names:
            return {}
        log.info("training %s (%s)", ", ".join(names), why)
        try:
            versions = self.train(names, now if data_end is None else data_end)
        except (BacktestError, BundleError, RegistryError, PrometheusError, ConfigError) as exc:
            log.error("training of %s failed (%s): %s; tried again at the next poll", ", ".join(names), why, exc)
            for name in names:  # drift may retry at the next poll
                self.schedule.last_drift.pop(name, None)
            if why == "nightly":
                self.schedule.nightly_at = now  # and so may the nightly training
            return {}
        for name, number in versions.items():
            log.info("registered version %d of foresight-%s as the challenger (%s)", number, name, why)
        return versions

    def run(self, poll: float, stop: threading.Event):
        log.info("trainer: nightly at %02d:%02d UTC, on drift every %.0fs (cooldown %.0fs), predictors %s",
                 *self.schedule.at, poll, self.schedule.cooldown, ", ".join(self.names))
        while not stop.is_set():
            self.tick(time.time())
            stop.wait(poll)


def add_trainer_command(sub):
    trainer = sub.add_parser("trainer", help="retrain nightly and when drift fires; register challengers",
                             description="A long-running trainer: trains every predictor on the last --history of "
                                         "Prometheus nightly at --at (UTC), and a predictor at once when its "
                                         "foresight_model_drift is 1 in Prometheus; each result is a new version "
                                         "with the alias challenger (docs/lifecycle.md).")
    trainer.add_argument("-c", "--config", required=True, help="predictor config YAML")
    trainer.add_argument("--prometheus", required=True, metavar="URL", help="history and drift flags come from here")
    trainer.add_argument("--registry", required=True, metavar="URL", help="MLflow tracking server")
    trainer.add_argument("--at", type=parse_clock, default=(2, 0), metavar="HH:MM",
                         help="nightly training time, UTC (default 02:00)")
    trainer.add_argument("--history", type=parse_duration, default=7 * 86400.0, metavar="DURATION",
                         help="history each training replays (default 7d)")
    trainer.add_argument("--poll", type=parse_duration, default=300.0, metavar="DURATION",
                         help="how often to ask Prometheus for drift (default 5m)")
    trainer.add_argument("--cooldown", type=parse_duration, default=6 * 3600.0, metavar="DURATION",
                         help="after a drift-triggered training, no other for that predictor for this long "
                              "(default 6h)")


def cmd_trainer(args) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    trainer = Trainer(config, args.prometheus, args.registry, args.history, Schedule(args.at, args.cooldown))
    try:
        trainer.run(args.poll, threading.Event())
    except KeyboardInterrupt:
        pass
    return 0


__all__ = ["DRIFTING", "Schedule", "Trainer", "add_trainer_command", "cmd_trainer", "next_nightly", "parse_clock"]
