"""`foresight backtest --prometheus`: replay Prometheus history through the live engine.

Every series the predictors read (targets, limits, drivers) is read with query_range, in
chunks the API accepts, and fed to a fresh Engine one step of the grid at a time, in time
order, as the sidecar feeds it (`add_points`, then `evaluate`). Counters arrive as raw
cumulative values and go in as counters, which the store turns into rates. Writes
OUT/predictions.csv (one row per evaluation and target) and OUT/alerts.csv (one row per
episode the generated alert rules would fire).
"""
import csv
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from foresight.config import Config
from foresight.contracts.points import Point
from foresight.contracts.selectors import format_labels
from foresight.contracts.severities import SEVERITIES
from foresight.sources.csv_table import BacktestError, format_timestamp, watched_selectors
from foresight.sources.prometheus import (MAX_POINTS_PER_QUERY, PrometheusError, chunks, point_kind, query_series,
                                          series_count)

from .alert_episodes import AlertReplay, Episode
from .backtest import EXTRA_COLUMNS, OUTPUT_COLUMNS, format_number, prediction_cells
from .engine import Engine

PREDICTION_COLUMNS = ("timestamp", "predictor", "labels", *OUTPUT_COLUMNS[2:], *EXTRA_COLUMNS)
ALERT_COLUMNS = ("predictor", "labels", "severity", "start", "end", "ttf_p50_seconds_at_start", "why")
REQUIRED_FIELDS = ("series", "limit_series")  # without these a predictor predicts nothing
DEFAULT_STEP = 60.0


@dataclass
class History:
    """What to replay: a Prometheus base URL and a time range on a step grid."""
    url: str
    start: float
    end: float
    step: float = DEFAULT_STEP
    points_per_query: int = MAX_POINTS_PER_QUERY  # per series; what the API accepts at most


@dataclass
class Replay:
    """What a replay did, for the summary."""
    history: History
    predictions_path: Path
    alerts_path: Path
    steps: int = 0
    points: int = 0
    skipped_values: int = 0  # NaN and infinite values, skipped as the sidecar drops them
    targets: dict = field(default_factory=dict)  # predictor -> set of its targets' labels
    evaluations: dict = field(default_factory=dict)  # predictor -> predictions made
    episodes: list = field(default_factory=list)  # Episode
    warnings: list = field(default_factory=list)


def prometheus_history(inputs, url, start, end, step, late_rows) -> History | None:
    """The History the backtest flags ask for, None for CSV files. Raises BacktestError for a
    combination that cannot run, naming what is missing or extra."""
    if url and inputs:
        raise BacktestError(f"give either CSV files or --prometheus, not both (got --prometheus {url} and "
                            f"{len(inputs)} CSV file(s), the first {inputs[0]})")
    if not url:
        if not inputs:
            raise BacktestError("nothing to replay: give CSV files (DATA.csv ...) or --prometheus URL --start T --end T")
        extra = [flag for flag, value in (("--start", start), ("--end", end), ("--step", step)) if value is not None]
        if extra:
            raise BacktestError(f"{' and '.join(extra)} {'is' if len(extra) == 1 else 'are'} for --prometheus only; "
                                f"CSV files bring their own timestamps")
        return None
    missing = [flag for flag, value in (("--start", start), ("--end", end)) if value is None]
    if missing:
        raise BacktestError(f"--prometheus needs {' and '.join(missing)}: the time range to replay "
                            f"(RFC 3339 such as 2026-01-01T00:00:00Z, or unix seconds)")
    if late_rows is not None:
        raise BacktestError("--late-rows applies to CSV files only; Prometheus returns each series in time order")
    if end <= start:
        raise BacktestError(f"--end {format_timestamp(end)} is not after --start {format_timestamp(start)}")
    if step is not None and step <= 0:
        raise BacktestError(f"--step {step:g}s: give a step above zero, such as 1m")
    return History(url, start, end, DEFAULT_STEP if step is None else step)


def _selectors(config: Config) -> list[tuple]:
    """(predictor name, field name, selector) of every series the predictors read."""
    found = []
    for predictor in config.predictors:
        if predictor.series is None:
            raise BacktestError(f"{config.source}: predictor {predictor.name!r} (kind {predictor.kind}) reads log "
                                f"records, which Prometheus does not hold; backtest the metric kinds only")
        found += [(predictor.name, name, selector) for name, selector in watched_selectors(predictor)]
    return found


def check_history(config: Config, history: History) -> list[str]:
    """Before any work: every target and limit selector names some series in the range.
    Returns warnings (drivers without series); raises BacktestError otherwise."""
    warnings, counted = [], {}
    span = f"between {format_timestamp(history.start)} and {format_timestamp(history.end)}"
    for predictor, field_name, selector in _selectors(config):
        promql = selector.promql()
        if promql not in counted:
            try:
                counted[promql] = series_count(history.url, promql, history.start, history.end)
            except PrometheusError as exc:
                raise BacktestError(str(exc)) from None
        if counted[promql]:
            continue
        problem = f"{history.url}: no series match predictor {predictor!r} {field_name} {promql!r} {span}"
        if field_name.split(".")[0] in REQUIRED_FIELDS:
            raise BacktestError(problem)
        warnings.append(problem)
    return warnings


def _chunk_series(history: History, promqls: list, chunk_start: float, chunk_end: float) -> dict:
    """(metric, labels) -> (times, values) of every series the selectors name in one chunk;
    a series two selectors both name is read once."""
    found = {}
    for promql in promqls:
        try:
            for metric, labels, times, values in query_series(history.url, promql, chunk_start, chunk_end,
                                                              history.step):
                found.setdefault((metric, labels), (times, values))
        except PrometheusError as exc:
            raise BacktestError(str(exc)) from None
    return found


def _chunk_steps(series: dict, chunk_start: float, chunk_end: float, step: float, replay: Replay):
    """Yield (time, points) for every step of the chunk's grid, in time order."""
    keys = list(series)
    index_parts, series_parts, value_parts = [], [], []
    for number, key in enumerate(keys):
        times, values = series[key]
        finite = np.isfinite(values)
        replay.skipped_values += int(np.count_nonzero(~finite))
        index_parts.append(np.rint((times[finite] - chunk_start) / step).astype(np.int64))
        series_parts.append(np.full(np.count_nonzero(finite), number, dtype=np.int64))
        value_parts.append(values[finite])
    steps = int(round((chunk_end - chunk_start) / step)) + 1
    if keys:
        index, numbers, values = (np.concatenate(parts) for parts in (index_parts, series_parts, value_parts))
        order = np.argsort(index, kind="stable")
        index, numbers, values = index[order], numbers[order], values[order]
        bounds = np.searchsorted(index, np.arange(steps + 1))
    kinds = [point_kind(metric) for metric, _ in keys]
    for k in range(steps):
        t = chunk_start + k * step
        points = []
        if keys:
            for i in range(bounds[k], bounds[k + 1]):
                metric, labels = keys[numbers[i]]
                points.append(Point(metric, labels, t, float(values[i]), kinds[numbers[i]]))
        yield t, points


def _write_rows(writer, t: float, predictions, replay: Replay):
    stamp = format_timestamp(t)
    for p in predictions:
        required, extra = prediction_cells(p)
        writer.writerow([stamp, p.predictor, format_labels(p.labels), format_number(p.observed), *required, *extra])
        replay.targets.setdefault(p.predictor, set()).add(p.key)
        replay.evaluations[p.predictor] = replay.evaluations.get(p.predictor, 0) + 1


def _replace(partial: Path, path: Path):
    try:
        os.replace(partial, path)
    except OSError as exc:
        raise BacktestError(f"{path}: cannot write the output: {exc.strerror}") from None


def write_alerts(episodes: list[Episode], path: Path):
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(ALERT_COLUMNS)
            for e in episodes:
                writer.writerow([e.predictor, format_labels(e.labels), e.severity, format_timestamp(e.start),
                                 "" if e.end is None else format_timestamp(e.end), format_number(e.ttf_at_start),
                                 e.why])
        _replace(partial, path)
    except OSError as exc:
        raise BacktestError(f"{path}: cannot write the output: {exc.strerror}") from None
    finally:
        if partial.exists():
            partial.unlink()


def run_prometheus_backtest(config: Config, history: History, output_dir, progress: bool | None = None) -> Replay:
    """Replay `history` into OUT/predictions.csv and OUT/alerts.csv. Raises BacktestError."""
    output_dir = Path(output_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    warnings = check_history(config, history)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BacktestError(f"{output_dir}: cannot create the output directory: {exc.strerror}") from None
    replay = Replay(history, output_dir / "predictions.csv", output_dir / "alerts.csv", warnings=warnings)
    promqls = list(dict.fromkeys(selector.promql() for _, _, selector in _selectors(config)))
    engine, alerts = Engine(config), AlertReplay(config.predictors)
    grid = chunks(history.start, history.end, history.step, history.points_per_query)
    total = sum(int(round((e - s) / history.step)) + 1 for s, e in grid)
    partial = replay.predictions_path.with_name(".predictions.csv.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle, \
                tqdm(total=total, desc="replay", unit="step", file=sys.stderr, disable=not progress,
                     delay=1.0) as bar:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(PREDICTION_COLUMNS)
            for chunk_start, chunk_end in grid:
                series = _chunk_series(history, promqls, chunk_start, chunk_end)
                for t, points in _chunk_steps(series, chunk_start, chunk_end, history.step, replay):
                    replay.points += engine.add_points("metrics", points)  # the live service's code path
                    predictions = engine.evaluate()
                    _write_rows(writer, t, predictions, replay)
                    alerts.observe(t, predictions, engine.withdrawn)
                    replay.steps += 1
                    bar.update(1)
        _replace(partial, replay.predictions_path)
    except OSError as exc:
        raise BacktestError(f"{replay.predictions_path}: cannot write the output: {exc.strerror}") from None
    finally:
        if partial.exists():
            partial.unlink()
    replay.episodes = alerts.episodes
    write_alerts(replay.episodes, replay.alerts_path)
    return replay


def summary_table(config: Config, replay: Replay) -> str:
    """Per predictor: targets, evaluations, and alert episodes by severity."""
    header = ["predictor", "targets", "evaluations", *SEVERITIES]
    rows = []
    for p in config.predictors:
        episodes = [e for e in replay.episodes if e.predictor == p.name]
        rows.append([p.name, str(len(replay.targets.get(p.name, ()))), str(replay.evaluations.get(p.name, 0)),
                     *(str(sum(e.severity == s for e in episodes)) for s in SEVERITIES)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    h = replay.history
    skipped = f", {replay.skipped_values} NaN/infinite value(s) skipped" if replay.skipped_values else ""
    lines.append(f"{h.url} {format_timestamp(h.start)} .. {format_timestamp(h.end)} every {h.step:g}s: "
                 f"{replay.steps} step(s), {replay.points} point(s){skipped}")
    lines.append(f"-> {replay.predictions_path} (one row per evaluation and target), {replay.alerts_path} "
                 f"({len(replay.episodes)} episode(s) the generated alert rules would fire)")
    lines += [f"warning: {w}" for w in replay.warnings]
    return "\n".join(lines)
