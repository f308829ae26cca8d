"""CSV history for backtests: a `timestamp` column and one column per series.

Columns are named exactly as the predictors' selectors name their series (`series: used`
reads the column `used`). A whole file is parsed and checked before any prediction runs,
so bad input fails fast, naming the file, the line and the column.
"""
import csv
import difflib
import math
import re
from dataclasses import dataclass, field, fields as dc_fields
from datetime import datetime, timezone
from pathlib import Path

from foresight.config import Config, PredictorConfig
from foresight.contracts.selectors import Selector

TIMESTAMP_COLUMN = "timestamp"
_UNIX_SECONDS = re.compile(r"[+-]?\d+(?:\.\d*)?")
# RFC 3339 (`T`, `t` or a space between date and time); without an offset the time is UTC.
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
CLOSE_MATCHES = 10  # column names an error lists at most: files may have thousands

class BacktestError(Exception):
    """A problem with a backtest input or output; the message names the file."""


@dataclass
class SeriesTable:
    """One input file, parsed and checked: strictly increasing times, numbers or gaps."""
    path: Path
    columns: list  # series column names in file order (the timestamp column excluded)
    stamps: list  # each row's timestamp as written, for the output
    times: list  # each row's timestamp in unix seconds
    rows: list  # per row, a tuple aligned with `columns`; None where the cell has no value
    skipped_cells: int = 0  # NaN and infinite cells, skipped like the live service drops them
    late_rows: set = field(default_factory=set)  # indexes of rows not after the newest earlier row (--late-rows skip)


# -- timestamps ----------------------------------------------------------------------------

def parse_timestamp(text: str) -> float:
    """Unix seconds from `1767225600`, `2026-01-01T00:00:00Z`, `...+02:00` or `2026-01-01 00:00:00` (UTC).

    Raises ValueError saying which formats are accepted.
    """
    text = text.strip()
    if _UNIX_SECONDS.fullmatch(text):
        return float(text)
    m = _DATE_TIME.fullmatch(text)
    if m:
        date, clock, fraction, offset = m.groups()
        if offset is None or offset in "Zz":
            offset = "+00:00"
        try:
            whole = datetime.fromisoformat(f"{date}T{clock}{offset}").timestamp()
        except ValueError as exc:  # e.g. month 13, hour 25
            raise ValueError(f"{text!r} is not a valid date and time ({exc})") from None
        # Fractions are added separately: fromisoformat keeps only microseconds.
        return whole + (float(fraction) if fraction else 0.0)
    raise ValueError(f"{text!r} is not a timestamp (use unix seconds, RFC 3339 such as "
                     f"2026-01-01T00:00:00Z, or 'YYYY-mm-dd HH:MM:SS' in UTC)")


def format_timestamp(seconds: float) -> str:
    """RFC 3339 in UTC, `2026-01-01T00:00:00Z`; milliseconds only when there are any."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def nearby_names(name: str, names: list, what: str = "column") -> str:
    """'3 columns; closest: usd, used_pct', not every name: a wide file has thousands."""
    count = f"{len(names):,} {what}{'' if len(names) == 1 else 's'}"
    close = difflib.get_close_matches(name, names, n=CLOSE_MATCHES, cutoff=0.6)
    if close:
        return f"{count}; closest: {', '.join(close)}"
    if len(names) <= CLOSE_MATCHES:
        return f"{count}: {', '.join(names)}" if names else f"no {what}s"
    return f"{count}, none close to {name!r}"


# -- reading inputs ------------------------------------------------------------------------

def watched_selectors(config: PredictorConfig) -> list[tuple[str, Selector]]:
    """(field name, selector) of every series a predictor reads, e.g. series and limit_series."""
    found = []
    for fld in dc_fields(config):
        value = getattr(config, fld.name)
        if isinstance(value, Selector):
            found.append((fld.name, value))
        elif isinstance(value, dict):
            found += [(f"{fld.name}.{name}", v) for name, v in value.items() if isinstance(v, Selector)]
    return found


def column_for(selector: Selector, columns: list) -> str | None:
    """The column a selector reads. Columns carry no labels, so a name matches exactly."""
    for column in columns:
        if selector.matches(column, {}):
            return column
    return None


def _open_csv(path: Path):
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        return open(path, newline="", encoding="utf-8-sig")
    except FileNotFoundError:
        raise BacktestError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BacktestError(f"{path}: is a directory, expected a CSV file") from None
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read the file: {exc.strerror}") from None


def _csv_rows(path: Path, handle):
    """csv rows with their 1-based line numbers; unreadable text becomes a BacktestError."""
    reader = csv.reader(handle)
    try:
        for cells in reader:
            yield reader.line_num, cells
    except UnicodeDecodeError as exc:
        raise BacktestError(f"{path}: line {reader.line_num + 1}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise BacktestError(f"{path}: line {reader.line_num}: cannot read the CSV: {exc}") from None


def check_header(path: Path, header: list) -> list:
    """The series columns (all but `timestamp`); raises for a missing timestamp or repeated names."""
    seen = set()
    for name in header:
        if name in seen:
            raise BacktestError(f"{path}: line 1: column {name!r} appears more than once")
        seen.add(name)
    if TIMESTAMP_COLUMN not in seen:
        raise BacktestError(f"{path}: line 1: no {TIMESTAMP_COLUMN!r} column "
                            f"({nearby_names(TIMESTAMP_COLUMN, header)})")
    return [name for name in header if name != TIMESTAMP_COLUMN]


def _is_blank(cells: list) -> bool:
    return not any(cell.strip() for cell in cells)


def _header_of(path: Path, rows) -> list:
    """The first non-blank row's names, stripped. Raises BacktestError for an empty file."""
    for _, cells in rows:
        if not _is_blank(cells):
            return [cell.strip() for cell in cells]
    raise BacktestError(f"{path}: the file is empty; expected a header with a {TIMESTAMP_COLUMN!r} column")


def read_header(path: Path) -> list:
    """The header's column names. Raises BacktestError for a missing or empty file."""
    with _open_csv(path) as handle:
        return _header_of(path, _csv_rows(path, handle))


def check_columns(path: Path, columns: list, config: Config):
    """Every series a predictor reads must be a column; name the one missing and the closest names."""
    for predictor in config.predictors:
        if predictor.series is None:
            raise BacktestError(f"{config.source}: predictor {predictor.name!r} (kind {predictor.kind}) reads "
                                f"log records, which a CSV of series cannot hold; backtest the metric kinds only")
        for field_name, selector in watched_selectors(predictor):
            if column_for(selector, columns) is None:
                hint = " (columns carry no labels, so use a bare name)" if selector.matchers else ""
                raise BacktestError(
                    f"{path}: no column for predictor {predictor.name!r} {field_name} {selector.promql()!r}{hint}; "
                    f"the file has {nearby_names(selector.metric, columns, 'series column')}")


def _parse_cell(path: Path, line: int, column: str, text: str) -> tuple[float | None, bool]:
    """(value, skipped): None for an empty cell; None and skipped=True for NaN or infinity."""
    text = text.strip()
    if not text:
        return None, False
    try:
        value = float(text)
    except ValueError:
        raise BacktestError(f"{path}: line {line}: column {column!r}: {text!r} is not a number") from None
    if math.isfinite(value):
        return value, False
    return None, True


LATE_ROW_CHOICES = ("error", "skip")


def read_table(path: Path, late_rows: str = "error") -> SeriesTable:
    """Parse and check a whole input file before any prediction runs, so bad input fails fast.

    A row whose timestamp is not after every earlier row's is an error, or with
    `late_rows="skip"` is kept in the output with empty predictions and counted, as the
    live service drops and counts out-of-order points."""
    with _open_csv(path) as handle:
        rows = _csv_rows(path, handle)
        header = _header_of(path, rows)
        columns = check_header(path, header)
        time_index = header.index(TIMESTAMP_COLUMN)
        series_indexes = [i for i, name in enumerate(header) if name != TIMESTAMP_COLUMN]
        table = SeriesTable(path=path, columns=columns, stamps=[], times=[], rows=[])
        previous_line, newest, newest_stamp = None, float("-inf"), ""
        for line, cells in rows:
            if _is_blank(cells):
                continue  # blank lines carry nothing
            if len(cells) > len(header):
                raise BacktestError(f"{path}: line {line}: {len(cells)} cells but the header has {len(header)} columns")
            cells = cells + [""] * (len(header) - len(cells))  # a short row has empty trailing cells
            stamp = cells[time_index].strip()
            if not stamp:
                raise BacktestError(f"{path}: line {line}: column {TIMESTAMP_COLUMN!r} is empty")
            try:
                t = parse_timestamp(stamp)
            except ValueError as exc:
                raise BacktestError(f"{path}: line {line}: column {TIMESTAMP_COLUMN!r}: {exc}") from None
            if table.times and t <= newest:
                if late_rows == "error":
                    problem = "repeats" if t == newest else "is earlier than"
                    raise BacktestError(f"{path}: line {line}: timestamp {stamp!r} {problem} {newest_stamp!r} "
                                        f"on line {previous_line}; rows must be in strictly increasing time order "
                                        f"(or pass --late-rows skip to skip such rows)")
                table.late_rows.add(len(table.rows))
            values = []
            for i in series_indexes:
                value, skipped = _parse_cell(path, line, header[i], cells[i])
                values.append(value)
                table.skipped_cells += skipped
            table.stamps.append(stamp)
            table.times.append(t)
            table.rows.append(tuple(values))
            if len(table.rows) - 1 not in table.late_rows:
                newest, newest_stamp, previous_line = t, stamp, line
    if not table.rows:
        raise BacktestError(f"{path}: no data rows after the header")
    return table
