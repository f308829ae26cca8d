"""Turning a scenario's conditions into metric series, one point per step.

Gauges are pure functions of time. Counters and histograms are cumulative since the run's
start, so a Timeline carries their running totals from one batch to the next; cutting the
same timeline into different batches yields the same points.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import noise
from .catalog import (CPU_LIMIT_UTILIZATION, DURATION_BUCKETS_S, ERROR_TYPE_ATTRIBUTE, FS_FREE, FS_RESERVED,
                      FS_STATE_ATTRIBUTE, FS_USAGE, FS_USED, FS_UTILIZATION, MEMORY_LIMIT, MEMORY_USAGE,
                      METHOD_ATTRIBUTE, POOL_CONNECTIONS, POOL_IDLE, POOL_MAX, POOL_NAME_ATTRIBUTE,
                      POOL_STATE_ATTRIBUTE, POOL_USED, POOL_WAIT, REQUEST_DURATION, ROUTE_ATTRIBUTE, SCHEME_ATTRIBUTE,
                      STATUS_CODE_ATTRIBUTE, STATUS_ERROR, STATUS_OK, MetricSpec)
from .conditions import Conditions
from .naming import prometheus_label
from .scenarios import Scenario
from .topology import (DB_CLIENT_SERVICES, DB_FILESYSTEM_ATTRIBUTES, DB_FILESYSTEM_LIMIT_BYTES,
                       DB_FILESYSTEM_RESERVED_BYTES, DB_POOL_IDLE_MAX, DB_POOL_MAX_CONNECTIONS, DB_POOL_NAMES,
                       DB_SERVICE, SERVICES, Service, http_services)

LATENCY_SPREAD = 0.45  # sigma of the log-normal request duration
POOL_WAIT_SPREAD = 0.6  # sigma of the log-normal wait for a pool connection
_erf = np.frompyfunc(math.erf, 1, 1)


@dataclass(frozen=True)
class SeriesKey:
    service: str
    metric: MetricSpec
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def prometheus(self) -> str:
        """Series name with its point attributes as labels, e.g. x_bytes{state="used"}."""
        return self.prometheus_series(self.metric.prometheus)

    def prometheus_series(self, name: str) -> str:
        """`name` with this series' attributes as labels (for a histogram's x_count, x_sum)."""
        if not self.attributes:
            return name
        labels = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{name}{{{labels}}}"

    @property
    def labels(self) -> tuple[tuple[str, str], ...]:
        """The attributes as Prometheus labels, sorted as Prometheus shows them."""
        return tuple(sorted((prometheus_label(k), v) for k, v in self.attributes))


@dataclass
class HistogramSeries:
    bucket_counts: np.ndarray  # (points, len(DURATION_BUCKETS_S) + 1), cumulative since start
    counts: np.ndarray
    sums: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray


@dataclass
class Batch:
    times: np.ndarray  # unix seconds of each point
    conditions: Conditions
    values: dict[SeriesKey, np.ndarray] = field(default_factory=dict)  # gauges and up-down counters
    histograms: dict[SeriesKey, HistogramSeries] = field(default_factory=dict)
    # Requests and failed requests of each HTTP service within each step, for logs.
    requests: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, np.ndarray] = field(default_factory=dict)

    def point_count(self) -> int:
        return len(self.times) * (len(self.values) + len(self.histograms))


def _requests_in_step(seed: int, stream: str, times: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Request count per step with Poisson-like spread (normal approximation)."""
    spread = np.sqrt(np.maximum(expected, 0.0)) * noise.normal(seed, stream, times)
    return np.maximum(np.round(expected + spread), 0).astype(np.int64)


def _bucket_counts(count: np.ndarray, median_s: np.ndarray, spread: float) -> np.ndarray:
    """Integer counts per bucket for log-normal durations; each row adds up to its count."""
    bounds = np.log(np.array(DURATION_BUCKETS_S))[None, :]
    z = (bounds - np.log(median_s)[:, None]) / (spread * math.sqrt(2.0))
    cdf = 0.5 * (1.0 + _erf(z).astype(np.float64))
    edges = np.concatenate([np.zeros((len(count), 1)), cdf, np.ones((len(count), 1))], axis=1)
    # Rounding the cumulative shares keeps the counts whole, non-negative and exact in total.
    cumulative = np.round(edges * count[:, None]).astype(np.int64)
    return np.diff(cumulative, axis=1)


class Timeline:
    """Points of one scenario at first + k * step for k = 0, 1, 2, ...; call next_batch in order.

    `start` anchors the scenario (its failures come at fixed offsets from it); `first`, the
    first point, may come before it to give the services a healthy history.
    """

    def __init__(self, scenario: Scenario, start: int, step: int, seed: int, first: int | None = None):
        self.scenario = scenario
        self.start = start
        self.first = start if first is None else first
        self.step = step
        self.seed = seed
        self._next_index = 0
        self._histogram_totals: dict[SeriesKey, tuple[np.ndarray, float, float, float]] = {}

    def next_batch(self, steps: int) -> Batch:
        indices = np.arange(self._next_index, self._next_index + steps, dtype=np.int64)
        self._next_index += steps
        times = self.first + indices * self.step
        conditions = self.scenario.conditions(times, self.start, self.seed)
        batch = Batch(times=times, conditions=conditions)
        self._add_gauges(batch)
        self._add_requests(batch)
        return batch

    def _add_gauges(self, batch: Batch) -> None:
        c = batch.conditions
        ones = np.ones(len(batch.times))
        for svc in SERVICES:
            batch.values[SeriesKey(svc.name, MEMORY_USAGE)] = np.round(c.memory_bytes[svc.name])
            batch.values[SeriesKey(svc.name, MEMORY_LIMIT)] = svc.memory_limit_bytes * ones
        for client in DB_CLIENT_SERVICES:
            pool = ((POOL_NAME_ATTRIBUTE, DB_POOL_NAMES[client]),)
            used = c.pools_in_use[client]
            idle = np.minimum(DB_POOL_IDLE_MAX, DB_POOL_MAX_CONNECTIONS - used)
            batch.values[SeriesKey(client, POOL_CONNECTIONS, pool + ((POOL_STATE_ATTRIBUTE, POOL_USED),))] = used
            batch.values[SeriesKey(client, POOL_CONNECTIONS, pool + ((POOL_STATE_ATTRIBUTE, POOL_IDLE),))] = idle
            batch.values[SeriesKey(client, POOL_MAX, pool)] = DB_POOL_MAX_CONNECTIONS * ones
        batch.values[SeriesKey(DB_SERVICE, CPU_LIMIT_UTILIZATION)] = np.clip(c.db_cpu_utilization, 0.0, 1.0)
        # The hostmetrics receiver's three states add up to the filesystem's size; its utilization
        # is used / (used + free), so it reaches 1 when nothing is left for unprivileged writers.
        used = np.round(c.disk_used_bytes)
        for state, values in ((FS_USED, used), (FS_FREE, DB_FILESYSTEM_LIMIT_BYTES - used),
                              (FS_RESERVED, DB_FILESYSTEM_RESERVED_BYTES * ones)):
            key = SeriesKey(DB_SERVICE, FS_USAGE, DB_FILESYSTEM_ATTRIBUTES + ((FS_STATE_ATTRIBUTE, state),))
            batch.values[key] = values
        batch.values[SeriesKey(DB_SERVICE, FS_UTILIZATION, DB_FILESYSTEM_ATTRIBUTES)] = used / DB_FILESYSTEM_LIMIT_BYTES

    def _add_requests(self, batch: Batch) -> None:
        c, times = batch.conditions, batch.times
        # Cumulative histograms start at zero at the run's start.
        in_run = times > self.first
        for svc in http_services():
            expected = c.request_rate * svc.traffic_share * self.step * in_run
            failed_share = np.clip(c.error_ratio[svc.name], 0.0, 1.0)
            ok = _requests_in_step(self.seed, f"{svc.name}/ok", times, expected * (1 - failed_share))
            failed = _requests_in_step(self.seed, f"{svc.name}/failed", times, expected * failed_share)
            batch.requests[svc.name] = ok + failed
            batch.errors[svc.name] = failed
            median = svc.latency_median_s * c.latency_factor[svc.name]
            for code, served in ((STATUS_OK, ok), (STATUS_ERROR, failed)):
                key = SeriesKey(svc.name, REQUEST_DURATION, _http_attributes(svc, code))
                batch.histograms[key] = self._histogram(key, served, median, LATENCY_SPREAD)
            if svc.name in DB_CLIENT_SERVICES:  # each request borrows one connection from the pool
                key = SeriesKey(svc.name, POOL_WAIT, ((POOL_NAME_ATTRIBUTE, DB_POOL_NAMES[svc.name]),))
                batch.histograms[key] = self._histogram(key, ok + failed, c.pools_wait_s[svc.name], POOL_WAIT_SPREAD)

    def _histogram(self, key: SeriesKey, count: np.ndarray, median_s: np.ndarray, spread: float) -> HistogramSeries:
        buckets_total, sum_total, low, high = self._histogram_totals.get(
            key, (np.zeros(len(DURATION_BUCKETS_S) + 1, dtype=np.int64), 0.0, math.inf, 0.0)
        )
        per_step = _bucket_counts(count, median_s, spread)
        bucket_counts = buckets_total + np.cumsum(per_step, axis=0)
        mean_s = median_s * math.exp(spread**2 / 2)
        sums = sum_total + np.cumsum(count * mean_s)
        # Min and max stand for the fastest and slowest observation so far (~2.5 sigma out).
        step_low = np.where(count > 0, median_s * math.exp(-2.5 * spread), math.inf)
        step_high = np.where(count > 0, median_s * math.exp(2.5 * spread), 0.0)
        mins = np.minimum.accumulate(np.concatenate(([low], step_low)))[1:]
        maxs = np.maximum.accumulate(np.concatenate(([high], step_high)))[1:]
        if len(count):
            self._histogram_totals[key] = (bucket_counts[-1], float(sums[-1]), float(mins[-1]), float(maxs[-1]))
        return HistogramSeries(
            bucket_counts=bucket_counts,
            counts=bucket_counts.sum(axis=1),
            sums=sums,
            mins=np.where(np.isinf(mins), 0.0, mins),
            maxs=maxs,
        )


def _http_attributes(svc: Service, code: str) -> tuple[tuple[str, str], ...]:
    """http.server.request.duration attributes of one service's route and status code."""
    method, route = svc.span_name.split(" ", 1)
    attributes = ((METHOD_ATTRIBUTE, method), (ROUTE_ATTRIBUTE, route), (SCHEME_ATTRIBUTE, "http"),
                  (STATUS_CODE_ATTRIBUTE, code))
    return attributes + (((ERROR_TYPE_ATTRIBUTE, code),) if code == STATUS_ERROR else ())
