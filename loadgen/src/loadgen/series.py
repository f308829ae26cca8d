"""Turning a scenario's conditions into metric series, one point per step.

Gauges are pure functions of time. Counters and histograms are cumulative since the run's
start, so a Timeline carries their running totals from one batch to the next; cutting the
same timeline into different batches yields the same points.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import noise
from .catalog import (CPU_UTILIZATION, DURATION_BUCKETS_S, FS_LIMIT, FS_USAGE, MEMORY_LIMIT, MEMORY_USAGE, POOL_IN_USE,
                      POOL_MAX, POOL_WAIT, REQUEST_COUNT, REQUEST_DURATION, STATUS_CODE_ATTRIBUTE, STATUS_ERROR,
                      STATUS_OK, MetricSpec)
from .conditions import Conditions
from .naming import prometheus_label
from .scenarios import Scenario
from .topology import (DB_CLIENT_SERVICES, DB_FILESYSTEM_LIMIT_BYTES, DB_POOL_MAX_CONNECTIONS, DB_SERVICE, SERVICES,
                       http_services)

LATENCY_SPREAD = 0.45  # sigma of the log-normal request duration
_erf = np.frompyfunc(math.erf, 1, 1)


@dataclass(frozen=True)
class SeriesKey:
    service: str
    metric: MetricSpec
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def prometheus(self) -> str:
        """Series name with its point attributes as labels, e.g. x_total{http_response_status_code="500"}."""
        if not self.attributes:
            return self.metric.prometheus
        labels = ",".join(f'{prometheus_label(k)}="{v}"' for k, v in self.attributes)
        return f"{self.metric.prometheus}{{{labels}}}"


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
    values: dict[SeriesKey, np.ndarray] = field(default_factory=dict)  # gauges and counters
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


def _bucket_counts(count: np.ndarray, median_s: np.ndarray) -> np.ndarray:
    """Integer counts per bucket for log-normal durations; each row adds up to its count."""
    bounds = np.log(np.array(DURATION_BUCKETS_S))[None, :]
    z = (bounds - np.log(median_s)[:, None]) / (LATENCY_SPREAD * math.sqrt(2.0))
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
        self._totals: dict[SeriesKey, int] = {}
        self._histogram_totals: dict[str, tuple[np.ndarray, float, float, float]] = {}

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
            batch.values[SeriesKey(client, POOL_IN_USE)] = c.pools_in_use[client]
            batch.values[SeriesKey(client, POOL_MAX)] = DB_POOL_MAX_CONNECTIONS * ones
            batch.values[SeriesKey(client, POOL_WAIT)] = c.pools_wait_s[client]
        batch.values[SeriesKey(DB_SERVICE, CPU_UTILIZATION)] = np.clip(c.db_cpu_utilization, 0.0, 1.0)
        batch.values[SeriesKey(DB_SERVICE, FS_USAGE)] = np.round(c.disk_used_bytes)
        batch.values[SeriesKey(DB_SERVICE, FS_LIMIT)] = DB_FILESYSTEM_LIMIT_BYTES * ones

    def _add_requests(self, batch: Batch) -> None:
        c, times = batch.conditions, batch.times
        # A cumulative counter starts at zero at the run's start.
        in_run = times > self.first
        for svc in http_services():
            expected = c.request_rate * svc.traffic_share * self.step * in_run
            failed_share = np.clip(c.error_ratio[svc.name], 0.0, 1.0)
            ok = _requests_in_step(self.seed, f"{svc.name}/ok", times, expected * (1 - failed_share))
            failed = _requests_in_step(self.seed, f"{svc.name}/failed", times, expected * failed_share)
            batch.requests[svc.name] = ok + failed
            batch.errors[svc.name] = failed
            for code, increments in ((STATUS_OK, ok), (STATUS_ERROR, failed)):
                key = SeriesKey(svc.name, REQUEST_COUNT, ((STATUS_CODE_ATTRIBUTE, code),))
                cumulative = self._totals.get(key, 0) + np.cumsum(increments)
                if len(cumulative):
                    self._totals[key] = int(cumulative[-1])
                batch.values[key] = cumulative
            median = svc.latency_median_s * c.latency_factor[svc.name]
            batch.histograms[SeriesKey(svc.name, REQUEST_DURATION)] = self._histogram(svc.name, ok + failed, median)

    def _histogram(self, service: str, count: np.ndarray, median_s: np.ndarray) -> HistogramSeries:
        buckets_total, sum_total, low, high = self._histogram_totals.get(
            service, (np.zeros(len(DURATION_BUCKETS_S) + 1, dtype=np.int64), 0.0, math.inf, 0.0)
        )
        per_step = _bucket_counts(count, median_s)
        bucket_counts = buckets_total + np.cumsum(per_step, axis=0)
        mean_s = median_s * math.exp(LATENCY_SPREAD**2 / 2)
        sums = sum_total + np.cumsum(count * mean_s)
        # Min and max stand for the fastest and slowest request seen so far (~2.5 sigma out).
        step_low = np.where(count > 0, median_s * math.exp(-2.5 * LATENCY_SPREAD), math.inf)
        step_high = np.where(count > 0, median_s * math.exp(2.5 * LATENCY_SPREAD), 0.0)
        mins = np.minimum.accumulate(np.concatenate(([low], step_low)))[1:]
        maxs = np.maximum.accumulate(np.concatenate(([high], step_high)))[1:]
        if len(count):
            self._histogram_totals[service] = (bucket_counts[-1], float(sums[-1]), float(mins[-1]), float(maxs[-1]))
        return HistogramSeries(
            bucket_counts=bucket_counts,
            counts=bucket_counts.sum(axis=1),
            sums=sums,
            mins=np.where(np.isinf(mins), 0.0, mins),
            maxs=maxs,
        )
