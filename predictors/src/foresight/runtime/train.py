"""`foresight train`: fit each predictor's per-target state from history, score it, and
write a model bundle per predictor (and, with a registry, log the training to MLflow).

The history (CSV files, or Prometheus with query_range) is replayed through the same
Engine the sidecar runs, one step at a time in time order, so the state a bundle holds is
what a sidecar would have learnt over that window: for `exhaustion` the daily profiles,
the forecaster each target chose by rolling-origin error and each target's track record;
for `anomaly` the detectors' baselines and the multivariate models' feature history. The
same replay gives the scores (runtime.scoring) and the plot (runtime.train_plot).

`logs` predictors read log records, which neither Prometheus nor a CSV of series holds:
they are not trained (the sidecar still learns their templates live).
"""
import dataclasses
import json
import logging
import shutil
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from tqdm import tqdm

from foresight.config import Config
from foresight.contracts.points import GAUGE, Point
from foresight.lifecycle.bundles import bundle_size, config_sha256, write_bundle
from foresight.lifecycle.registry import Registry
from foresight.sources.csv_table import BacktestError, check_columns, check_header, format_timestamp, read_header, \
    read_table
from foresight.sources.prometheus import chunks

from .alert_episodes import AlertReplay
from .backtest_prometheus import History, Replay, _chunk_series, _chunk_steps, _selectors, check_history
from .engine import Engine
from .scoring import anomaly_scores, exhaustion_scores

log = logging.getLogger(__name__)

_COLUMNS = ("t", "observed", "limit", "p10", "p50", "p90", "f1h", "f6h", "score", "risk")


@dataclass
class Source:
    """History to train on: the steps (time, points) in time order, how many, and its window."""
    steps: object  # iterator of (t, points)
    total: int
    start: float
    end: float
    description: str


@dataclass
class Training:
    """What a training did."""
    output_dir: Path
    window: dict
    seconds: float = 0.0
    steps: int = 0
    points: int = 0
    series: int = 0  # watched series (targets of some predictor)
    series_days: float = 0.0
    scores: dict = field(default_factory=dict)  # predictor -> score -> value
    bundles: dict = field(default_factory=dict)  # predictor -> bundle folder
    sizes: dict = field(default_factory=dict)  # predictor -> (bytes, targets)
    plot: Path | None = None
    skipped: list = field(default_factory=list)  # predictors not trained, with why
    run_id: str = ""
    versions: dict = field(default_factory=dict)  # predictor -> registered version


# -- sources ---------------------------------------------------------------------------
def csv_source(config: Config, inputs, late_rows: str = "error") -> Source:
    """CSV files as one history, in time order (each file after the one before it)."""
    paths = [Path(p) for p in inputs]
    for path in paths:
        check_columns(path, check_header(path, read_header(path)), config)
    tables = [read_table(path, late_rows) for path in paths]
    for before, table in zip(tables, tables[1:]):
        if table.times and before.times and table.times[0] <= before.times[-1]:
            raise BacktestError(f"{table.path}: starts at {format_timestamp(table.times[0])}, before "
                                f"{before.path} ends ({format_timestamp(before.times[-1])}); the CSV files of one "
                                f"training are one history in time order: train other systems' files apart")
    tables = [t for t in tables if t.times]
    if not tables:
        raise BacktestError(f"{paths[0]}: no rows to train on")

    def steps():
        for table in tables:
            for i, (t, values) in enumerate(zip(table.times, table.rows)):
                if i not in table.late_rows:
                    yield t, [Point(c, (), t, v, GAUGE) for c, v in zip(table.columns, values) if v is not None]

    total = sum(len(t.times) - len(t.late_rows) for t in tables)
    return Source(steps(), total, tables[0].times[0], tables[-1].times[-1],
                  "csv " + ", ".join(str(p) for p in paths))


def prometheus_source(config: Config, history: History) -> Source:
    """Every series the predictors read, from Prometheus, on the step grid."""
    for warning in check_history(config, history):
        log.warning("%s", warning)
    promqls = list(dict.fromkeys(selector.promql() for _, _, selector in _selectors(config)))
    grid = chunks(history.start, history.end, history.step, history.points_per_query)
    counter = Replay(history, Path(), Path())  # counts the NaN values skipped

    def steps():
        for chunk_start, chunk_end in grid:
            series = _chunk_series(history, promqls, chunk_start, chunk_end)
            yield from _chunk_steps(series, chunk_start, chunk_end, history.step, counter)

    total = sum(int(round((e - s) / history.step)) + 1 for s, e in grid)
    return Source(steps(), total, history.start, history.end, f"prometheus {history.url} step {history.step:g}s")


# -- the replay --------------------------------------------------------------------------
class Recorder:
    """Each prediction's figures, per predictor and target, for the scores and the plot."""

    def __init__(self):
        self.targets: dict = {}  # predictor -> key -> column -> array
        self.models: dict = {}  # predictor -> key -> list of model names

    def observe(self, predictions):
        nan = float("nan")
        for p in predictions:
            columns = self.targets.setdefault(p.predictor, {}).get(p.key)
            if columns is None:
                columns = self.targets[p.predictor][p.key] = {name: array("d") for name in _COLUMNS}
                self.models.setdefault(p.predictor, {})[p.key] = []
            row = (p.timestamp, _num(p.observed), _num(p.limit), _num(p.ttf.get(0.1)), _num(p.ttf.get(0.5)),
                   _num(p.ttf.get(0.9)), _num(p.forecast.get((3600.0, 0.5))), _num(p.forecast.get((21600.0, 0.5))),
                   _num(p.anomaly_score), float(p.risk_level))
            if len(columns["t"]) and columns["t"][-1] == p.timestamp:
                continue  # the same prediction published again
            for name, value in zip(_COLUMNS, row):
                columns[name].append(value if value is not None else nan)
            self.models[p.predictor][p.key].append(p.model or "")

    def columns(self, predictor: str) -> dict:
        return {key: {**{name: np.frombuffer(a, dtype=np.float64) for name, a in cols.items()},
                      "model": self.models[predictor][key]}
                for key, cols in self.targets.get(predictor, {}).items()}


def _num(value):
    return None if value is None else float(value)


def replay(config: Config, source: Source, progress: bool) -> tuple:
    """(engine, recorder, episodes by predictor and target, steps, points)."""
    engine, alerts, recorder = Engine(config), AlertReplay(config.predictors), Recorder()
    steps = points = 0
    last = source.start
    with tqdm(total=source.total, desc="train", unit="step", file=sys.stderr, disable=not progress,
              delay=1.0) as bar:
        for t, batch in source.steps:
            points += engine.add_points("metrics", batch)  # the live service's code path
            predictions = engine.evaluate()
            recorder.observe(predictions)
            alerts.observe(t, predictions, engine.withdrawn)
            steps, last = steps + 1, t
            bar.update(1)
    episodes: dict = {}
    for e in alerts.episodes:
        key = (e.predictor, tuple(sorted(e.labels.items())))
        episodes.setdefault(e.predictor, {}).setdefault(key, []).append((e.start, last if e.end is None else e.end))
    return engine, recorder, episodes, steps, points


# -- bundles -----------------------------------------------------------------------------
def raw_configs(config: Config) -> dict:
    """Each predictor's YAML mapping as written in the config file, by name."""
    try:
        data = yaml.safe_load(Path(config.source).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BacktestError(f"{config.source}: cannot read the config again: {exc}") from None
    return {item["name"]: item for item in data["predictors"]}


def bundle_rows(engine: Engine, predictor) -> list:
    """A predictor's rows of the engine's state: its model state and the series it reads."""
    name, selectors = predictor.config.name, predictor.selectors()
    rows = []
    for section, owner, key, value in engine.export_state():
        if section == "series" and any(s.matches(key[0], dict(key[1])) for s in selectors):
            rows.append((section, owner, key, value))
        elif section in ("config", "shared", "target") and owner == name:
            rows.append((section, owner, key, value))
    return rows


def train(config: Config, source: Source, output_dir, progress: bool | None = None) -> Training:
    """Replay, score and write OUTPUT/bundles/<predictor>/, OUTPUT/scores.json, OUTPUT/models.png."""
    try:
        from .train_plot import plot_models  # matplotlib: only a training draws
    except ImportError as exc:
        raise BacktestError(f"foresight train draws its plot with matplotlib ({exc}): "
                            f"pip install 'foresight[train]'") from None

    output_dir = Path(output_dir)
    progress = sys.stderr.isatty() if progress is None else progress
    window = {"start": source.start, "end": source.end, "source": source.description}
    result = Training(output_dir, window)
    metric_kinds = [p for p in config.predictors if p.series is not None]
    result.skipped = [f"{p.name} ({p.kind}): reads log records, which this history does not hold"
                      for p in config.predictors if p.series is None]
    if not metric_kinds:
        raise BacktestError(f"{config.source}: no predictor reads series; nothing to train")
    trained = dataclasses.replace(config, predictors=metric_kinds)
    raw = raw_configs(config)
    started = time.monotonic()
    engine, recorder, episodes, result.steps, result.points = replay(trained, source, progress)
    # Series-days count the watched series (each predictor's targets), not their limits or drivers.
    result.series = len({key for p in engine.predictors for key, _ in engine.store.matching(p.config.series)})
    result.series_days = result.series * (source.end - source.start) / 86400.0
    for predictor in engine.predictors:
        cfg = predictor.config
        columns = recorder.columns(cfg.name)
        eps = episodes.get(cfg.name, {})
        if cfg.kind == "exhaustion":
            tolerance = max(cfg.evaluate_every, 60.0) * 1.5
            result.scores[cfg.name] = exhaustion_scores(columns, eps, cfg.direction, tolerance)
        else:
            result.scores[cfg.name] = anomaly_scores(columns, eps)
        folder = output_dir / "bundles" / cfg.name
        if folder.exists():
            shutil.rmtree(folder)
        write_bundle(folder, raw[cfg.name], bundle_rows(engine, predictor), window, result.scores[cfg.name])
        result.bundles[cfg.name] = folder
        result.sizes[cfg.name] = (bundle_size(folder), len(columns))
    result.seconds = time.monotonic() - started
    (output_dir / "scores.json").write_text(json.dumps(result.scores, indent=1, sort_keys=True) + "\n")
    result.plot = plot_models(trained, recorder, episodes, output_dir / "models.png")
    return result


def log_to_registry(result: Training, config: Config, url: str, experiment: str):
    """The training as an MLflow run, each bundle a new `challenger` version."""
    raw = raw_configs(config)
    window = result.window
    params = {"config_file": Path(config.source).name,
              "config_sha256": config_sha256({"predictors": list(raw.values())}),
              "window.start": format_timestamp(window["start"]), "window.end": format_timestamp(window["end"]),
              "window.source": window["source"], "predictors": ",".join(result.bundles)}
    for name in result.bundles:
        params[f"{name}.kind"] = raw[name]["kind"]
        params[f"{name}.config_sha256"] = config_sha256(raw[name])
        params[f"{name}.config"] = json.dumps(raw[name], sort_keys=True)
    metrics = {name: {**scores, "bundle_bytes": result.sizes[name][0], "training_seconds": result.seconds}
               for name, scores in result.scores.items()}
    files = [Path(config.source), result.output_dir / "scores.json"] + ([result.plot] if result.plot else [])
    registry = Registry(url, experiment)
    result.run_id, result.versions = registry.log_training(params, metrics, result.bundles, files,
                                                           run_name=f"train {format_timestamp(result.window['end'])}")


def run_training(config: Config, source: Source, output_dir=None, registry: str = "", experiment: str = "foresight",
                 progress: bool | None = None) -> Training:
    """Train into `output_dir` (a temporary folder when only a registry keeps the result)."""
    if not output_dir and not registry:
        raise BacktestError("nothing would keep the bundles: give --output-dir, --registry, or both")
    folder = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="foresight-train-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BacktestError(f"{folder}: cannot create the output directory: {exc.strerror}") from None
    try:
        result = train(config, source, folder, progress)
        if registry:
            log_to_registry(result, config, registry, experiment)
    finally:
        if not output_dir:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def summary(result: Training) -> str:
    w = result.window
    lines = [f"trained on {w['source']} from {format_timestamp(w['start'])} to {format_timestamp(w['end'])}: "
             f"{result.steps} step(s), {result.points} point(s), {result.series} watched series "
             f"({result.series_days:.1f} series-days) in {result.seconds:.1f}s "
             f"({1000 * result.seconds / max(result.series_days, 1e-9):.0f}s per 1,000 series-days)"]
    for name, scores in result.scores.items():
        size, targets = result.sizes[name]
        shown = ", ".join(f"{k}={_short(v)}" for k, v in scores.items())
        lines.append(f"  {name}: {targets} target(s), bundle {size / 1e3:.1f} kB "
                     f"({size / 1e3 / max(targets, 1):.1f} kB per target); {shown}")
        if result.versions.get(name):
            lines.append(f"    registered as version {result.versions[name]} of foresight-{name} (alias challenger)")
    if result.run_id:
        lines.append(f"MLflow run {result.run_id}")
    if result.output_dir.exists():
        lines.append(f"-> {result.output_dir}/bundles/, scores.json, models.png")
    lines += [f"not trained: {why}" for why in result.skipped]
    return "\n".join(lines)


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


__all__ = ["Recorder", "Source", "Training", "bundle_rows", "csv_source", "prometheus_source", "run_training",
           "summary", "train"]
