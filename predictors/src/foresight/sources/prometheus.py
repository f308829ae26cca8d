"""Read history from Prometheus (HTTP API query_range), to warm windows at start."""
import math

import requests

from foresight.contracts.points import COUNTER, GAUGE, Point

_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
MAX_POINTS_PER_QUERY = 11000  # Prometheus refuses query_range above 11,000 points per series


class PrometheusError(Exception):
    pass


def query_range(url: str, promql: str, start: float, end: float, step: float, timeout: float = 10.0) -> list[Point]:
    """Return the points of every series the query selects, oldest first per series."""
    step = max(step, (end - start) / MAX_POINTS_PER_QUERY)
    try:
        resp = requests.get(f"{url.rstrip('/')}/api/v1/query_range",
                            params={"query": promql, "start": start, "end": end, "step": step}, timeout=timeout)
    except requests.RequestException as exc:
        raise PrometheusError(f"cannot reach Prometheus at {url}: {exc}") from None
    try:
        body = resp.json()
    except ValueError:
        raise PrometheusError(f"Prometheus at {url} answered HTTP {resp.status_code} without JSON") from None
    if body.get("status") != "success":
        raise PrometheusError(f"query {promql!r} failed: {body.get('error', resp.status_code)}")
    points = []
    for series in body["data"]["result"]:
        labels = dict(series["metric"])
        name = labels.pop("__name__", promql)
        kind = COUNTER if name.endswith(_COUNTER_SUFFIXES) else GAUGE
        key = tuple(sorted(labels.items()))
        for t, v in series["values"]:
            value = float(v)
            if math.isfinite(value):
                points.append(Point(name, key, float(t), value, kind))
    return points
