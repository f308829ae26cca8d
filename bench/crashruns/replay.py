"""Foresight on one crash run, as the sidecar would run it with its defaults.

The run's points go through `Engine.add_points` one flush at a time (as the collector's
exporter batches them), the engine evaluates after every flush as the sidecar does after a
Kafka poll, and `AlertReplay` applies the generated rules' `for:` on event time. What comes
out is every alert episode, and each series' raw samples for the node-mixin baseline.
"""
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from foresight.config import Config, load_config
from foresight.runtime.alert_episodes import AlertReplay
from foresight.runtime.engine import Engine

REPO = Path(__file__).resolve().parents[2]
CONFIGS = (REPO / "predictors" / "config" / "examples" / "node-exporter.yaml",
           Path(__file__).with_name("cluster-kpis.yaml"))


def foresight_config(paths=CONFIGS) -> Config:
    """The predictors of every file, in order: the shipped node_exporter example and the
    crash runs' KPIs. Each file is checked by the one config reader."""
    predictors = [p for path in paths for p in load_config(path).predictors]
    return Config(source=" + ".join(str(p) for p in paths), predictors=predictors)


@dataclass
class Samples:
    """One series as a scraper stored it: timestamps (with the node's clock skew) and values."""
    kind: str
    times: array = field(default_factory=lambda: array("d"))
    values: array = field(default_factory=lambda: array("d"))


@dataclass
class Replayed:
    episodes: list  # foresight.runtime.alert_episodes.Episode, every severity
    series: dict  # (metric, labels) -> Samples
    evaluations: int
    accepted: int
    bad_input: dict
    errors: int  # predictor errors recorded during the run


def replay(run, config: Config, every: float = 60.0) -> Replayed:
    engine = Engine(config)
    alerts = AlertReplay(config.predictors)
    series: dict = {}
    evaluations = 0
    for now, points in run.batches(every):
        engine.add_points("metrics", points)
        for p in points:
            s = series.get((p.metric, p.labels))
            if s is None:
                s = series[(p.metric, p.labels)] = Samples(p.kind)
            s.times.append(p.timestamp)
            s.values.append(p.value)
        predictions = engine.evaluate()
        evaluations += 1
        alerts.observe(now, predictions, engine.withdrawn)
    errors = sum(p.errors for p in engine.predictors)
    return Replayed(alerts.episodes, series, evaluations, engine.accepted["metrics"], engine.bad_input(), errors)


__all__ = ["CONFIGS", "Replayed", "Samples", "foresight_config", "replay"]
