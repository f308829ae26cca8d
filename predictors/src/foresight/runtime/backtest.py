"""`foresight backtest`: replay CSV history through the live engine, row by row.

Each input row is fed to a fresh `Engine` the way the sidecar feeds Kafka points
(`add_points` then `evaluate`), so the output is what the service would have published at
that moment. A row's output uses only that row and the rows before it: nothing looks ahead.

Input: see foresight.sources.csv_table.
"""
import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from foresight.config import Config
from foresight.contracts.points import GAUGE, Point
from foresight.contracts.predictions import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction
from foresight.contracts.severities import SEVERITY_NAMES
from foresight.sources.csv_table import (BacktestError, SeriesTable, check_columns, check_header, column_for,
                                         read_header, read_table)

from .engine import Engine

OUTPUT_COLUMNS = (
    "timestamp", "predictor", "value",
    "ttf_p10_seconds", "ttf_p50_seconds", "ttf_p90_seconds",
    "probability_1h", "probability_6h", "probability_24h",
    "anomaly_score", "severity",
)
_HORIZON_NAMES = {3600.0: "1h", 6 * 3600.0: "6h", 24 * 3600.0: "24h"}
_QUANTILE_NAMES = {0.1: "p10", 0.5: "p50", 0.9: "p90"}
# Extra columns after the required ones: what the sidecar also publishes per prediction.
EXTRA_COLUMNS = (
    "limit", "trend_per_second", "predicted_at",
    *(f"forecast_{_HORIZON_NAMES[h]}_{_QUANTILE_NAMES[q]}" for h in PUBLISHED_HORIZONS for q in TTF_QUANTILES),
    "model", "why", "action",
)


@dataclass
class BacktestResult:
    input_path: Path
    output_path: Path
    rows: int  # input rows
    skipped_cells: int
    late_rows: int = 0  # rows out of time order, written with empty predictions


# -- running -------------------------------------------------------------------------------

def format_number(value) -> str:
    """Exact and round-trippable; `inf` where no crossing is expected; empty where nothing applies."""
    if value is None:
        return ""
    return repr(float(value))


def prediction_cells(prediction: Prediction | None) -> tuple[list, list]:
    """(required cells after `value`, extra cells) for one prediction; all empty before the first."""
    if prediction is None:
        return [""] * (len(OUTPUT_COLUMNS) - 3), [""] * len(EXTRA_COLUMNS)
    required = [format_number(prediction.ttf.get(q)) for q in TTF_QUANTILES]
    required += [format_number(prediction.probability.get(h)) for h in PUBLISHED_HORIZONS]
    # Only some kinds score anomalies; for the others the field does not apply (None).
    required.append(format_number(prediction.anomaly_score))
    required.append(SEVERITY_NAMES.get(prediction.risk_level, ""))
    extra = [format_number(prediction.limit), format_number(prediction.trend_per_second),
             format_number(prediction.timestamp)]
    extra += [format_number(prediction.forecast.get((h, q))) for h in PUBLISHED_HORIZONS for q in TTF_QUANTILES]
    extra += [prediction.model, "; ".join(prediction.drivers), prediction.action]
    return required, extra


def backtest_rows(config: Config, table: SeriesTable, progress: bool = False):
    """Yield output rows (lists of text), one per input row and predictor, in config order.

    A fresh Engine per call: nothing carries over between files.
    """
    engine = Engine(config)
    names = [p.name for p in config.predictors]
    value_index = [table.columns.index(column_for(p.series, table.columns)) for p in config.predictors]
    # Cells are formatted once per new prediction; rows between evaluations reuse them.
    latest = {name: prediction_cells(None) for name in names}
    columns = table.columns
    with tqdm(total=len(table.rows), desc=table.path.name, unit="row", file=sys.stderr,
              disable=not progress, delay=1.0) as bar:
        empty = prediction_cells(None)
        for i, (stamp, t, values) in enumerate(zip(table.stamps, table.times, table.rows)):
            if i in table.late_rows:  # out of time order: dropped, as the live service drops it
                for name, index in zip(names, value_index):
                    yield [stamp, name, format_number(values[index]), *empty[0], *empty[1]]
                bar.update(1)
                continue
            points = [Point(column, (), t, v, GAUGE) for column, v in zip(columns, values) if v is not None]
            engine.add_points("metrics", points)  # the live service's code path
            for prediction in engine.evaluate():
                latest[prediction.predictor] = prediction_cells(prediction)
            for predictor, _ in engine.withdrawn:  # no prediction now: empty fields, not stale ones
                latest[predictor] = prediction_cells(None)
            for name, index in zip(names, value_index):
                required, extra = latest[name]
                yield [stamp, name, format_number(values[index]), *required, *extra]
            bar.update(1)


def output_path_for(input_path: Path, output_dir: Path) -> Path:
    return output_dir / input_path.name


def _check_outputs(inputs: list, output_dir: Path):
    """Refuse to overwrite an input, or to write two inputs to one output file."""
    claimed = {}
    for path in inputs:
        out = output_path_for(path, output_dir)
        if out.exists() and out.resolve() == path.resolve():
            raise BacktestError(f"{path}: the output {out} would overwrite this input; choose another --output-dir")
        if out in claimed:
            raise BacktestError(f"{path}: has the same file name as {claimed[out]}; both would be written to {out}")
        claimed[out] = path


def write_backtest(config: Config, table: SeriesTable, output_path: Path, progress: bool = False):
    """Write one output file; it appears only when complete (written aside, then renamed)."""
    partial = output_path.with_name(f".{output_path.name}.partial")
    try:
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(OUTPUT_COLUMNS + EXTRA_COLUMNS)
            writer.writerows(backtest_rows(config, table, progress))
        os.replace(partial, output_path)
    except OSError as exc:
        raise BacktestError(f"{output_path}: cannot write the output: {exc.strerror}") from None
    finally:
        if partial.exists():
            partial.unlink()


def run_backtest(config: Config, inputs, output_dir, progress: bool | None = None,
                 late_rows: str = "error") -> list[BacktestResult]:
    """Backtest each input file into `output_dir/<input file name>`.

    Every input's header is checked before any file runs, so a typo in the last file does
    not surface after minutes of work. `progress` defaults to: stderr is a terminal.
    Raises BacktestError.
    """
    inputs = [Path(p) for p in inputs]
    output_dir = Path(output_dir)
    if progress is None:
        progress = sys.stderr.isatty()
    for path in inputs:
        check_columns(path, check_header(path, read_header(path)), config)
    _check_outputs(inputs, output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BacktestError(f"{output_dir}: cannot create the output directory: {exc.strerror}") from None
    results = []
    for path in inputs:
        table = read_table(path, late_rows)
        output_path = output_path_for(path, output_dir)
        write_backtest(config, table, output_path, progress)
        results.append(BacktestResult(path, output_path, len(table.rows), table.skipped_cells, len(table.late_rows)))
    return results
