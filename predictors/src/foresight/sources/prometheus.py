"""Read history from Prometheus (HTTP API): `query_range` to warm windows at start, and the
chunked reads and series lists `foresight backtest --prometheus` replays."""
import math

import numpy as np
import requests

from foresight.contracts.points import COUNTER, GAUGE, Point

# query_range returns counters as raw cumulative values; the store turns them into rates.
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
# Prometheus refuses a query_range whose (end - start) / step is above 11,000.
MAX_POINTS_PER_QUERY = 11000


class PrometheusError(Exception):
    pass


def point_kind(metric: str) -> str:
    """The kind the store expects for a series Prometheus returns: counters by their name."""
    return COUNTER if metric.endswith(_COUNTER_SUFFIXES) else GAUGE


def _reason(exc: requests.RequestException) -> str:
    """"Failed to resolve 'prom' (...)" rather than urllib3's whole retry story."""
    inner = getattr(exc.args[0], "reason", None) if exc.args else None
    return str(exc if inner is None else inner).split(">: ", 1)[-1]


def _get(url: str, path: str, params: dict, what: str, timeout: float):
    """The `data` of a successful API answer; PrometheusError naming the URL and query otherwise."""
    try:
        resp = requests.get(f"{url.rstrip('/')}{path}", params=params, timeout=timeout)
    except requests.RequestException as exc:
        raise PrometheusError(f"cannot reach Prometheus at {url}: {_reason(exc)}") from None
    try:
        body = resp.json()
    except ValueError:
        raise PrometheusError(f"Prometheus at {url} answered HTTP {resp.status_code} without JSON "
                              f"(is {url} the Prometheus base URL?)") from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", resp.status_code) if isinstance(body, dict) else resp.status_code
        raise PrometheusError(f"{what} failed at {url}: {error}")
    return body.get("data")


def query_series(url: str, promql: str, start: float, end: float, step: float,
                 timeout: float = 30.0) -> list[tuple[str, tuple, np.ndarray, np.ndarray]]:
    """One query_range, as (metric, sorted labels, times, values) per series; NaN and
    infinite values are kept (the caller counts and skips them). The step is not changed."""
    data = _get(url, "/api/v1/query_range", {"query": promql, "start": start, "end": end, "step": step},
                f"query_range {promql!r}", timeout)
    found = []
    for series in data["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__", promql)
        values = series["values"]
        times = np.fromiter((float(t) for t, _ in values), float, len(values))
        # Prometheus writes NaN and infinities as "NaN", "+Inf" and "-Inf", which float() reads.
        numbers = np.fromiter((float(v) for _, v in values), float, len(values))
        found.append((name, tuple(sorted(labels.items())), times, numbers))
    return found


def query_range(url: str, promql: str, start: float, end: float, step: float, timeout: float = 10.0) -> list[Point]:
    """The points of every series the query selects, oldest first per series (warm-up: the step
    is coarsened to stay within one query)."""
    step = max(step, (end - start) / MAX_POINTS_PER_QUERY)
    points = []
    for name, labels, times, values in query_series(url, promql, start, end, step, timeout):
        kind = point_kind(name)
        points += [Point(name, labels, float(t), float(v), kind) for t, v in zip(times, values) if math.isfinite(v)]
    return points


def series_count(url: str, promql: str, start: float, end: float, timeout: float = 30.0) -> int:
    """How many series the selector names between start and end (the series API, no samples)."""
    data = _get(url, "/api/v1/series", {"match[]": promql, "start": start, "end": end},
                f"series {promql!r}", timeout)
    return len(data)


def chunks(start: float, end: float, step: float, max_points: int = MAX_POINTS_PER_QUERY) -> list[tuple]:
    """(start, end) of consecutive query_range calls covering start..end on one step grid
    (start + k * step), each with at most `max_points` points per series and none repeated."""
    if step <= 0 or end < start:
        raise ValueError(f"need step > 0 and end >= start, got step {step}, start {start}, end {end}")
    last = math.floor((end - start) / step + 1e-9)  # index of the last grid step
    return [(start + i * step, start + min(i + max_points - 1, last) * step)
            for i in range(0, last + 1, max_points)]
