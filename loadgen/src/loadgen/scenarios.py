"""The named scenarios: what fails, when, and the deterministic values leading up to it.

Every scenario is a pure function of (times, start, seed). Failure times are worked out
first and the curves are built to reach the limit exactly at them, so the metadata and
the values can never disagree.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from . import noise
from .catalog import (CPU_LIMIT_UTILIZATION, FS_UTILIZATION, MEMORY_LIMIT, MEMORY_USAGE, POOL_CONNECTIONS, POOL_MAX,
                      POOL_STATE_ATTRIBUTE, POOL_USED, REQUEST_DURATION)
from .conditions import HOUR, Conditions, normal_day, pool_wait_seconds, rotations_between
from .naming import prometheus_label
from .topology import (DB_CLIENT_SERVICES, DB_FILESYSTEM_LIMIT_BYTES, DB_POOL_MAX_CONNECTIONS, DB_QUERY_MEDIAN_S, GIB,
                       QUERIES_PER_REQUEST, service)

_CHECKOUT_MEMORY_LIMIT = service("checkout").memory_limit_bytes


@dataclass(frozen=True)
class Watched:
    """The series a predictor should watch for this scenario, and what counts as failure."""

    service: str
    resource: str  # human name, as in foresight_predictor_info
    metric: str  # Prometheus-style name
    limit_metric: str | None  # Prometheus-style name of the series holding the limit, if any
    limit: float
    labels: tuple[tuple[str, str], ...] = ()  # Prometheus labels that pick the watched series among the metric's

    @property
    def selector(self) -> str:
        """The watched series as a selector, e.g. db_client_connection_count{db_client_connection_state="used"}."""
        if not self.labels:
            return self.metric
        return self.metric + "{" + ",".join(f'{k}="{v}"' for k, v in self.labels) + "}"


@dataclass(frozen=True)
class Failure:
    time: int  # unix seconds
    watched: Watched
    message: str  # the log line the failing service writes


def _jitter(seed: int, stream: str, index: int, spread: float = 0.05) -> float:
    """A factor in [1 - spread, 1 + spread], fixed by seed, so each seed fails at its own time."""
    u = noise.uniform(seed, stream, np.array([index]))[0]
    return 1.0 + spread * (2.0 * u - 1.0)


def _ramp(times: np.ndarray, begin: float, end: float) -> np.ndarray:
    """0 before `begin`, 1 after `end`, smooth in between."""
    x = np.clip((times - begin) / (end - begin), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class Scenario(ABC):
    name: str
    description: str
    watched: Watched
    failure_message: str

    @abstractmethod
    def conditions(self, times: np.ndarray, start: int, seed: int) -> Conditions:
        """The system's state at each of `times` (unix seconds) for a run started at `start`."""

    def failure_times(self, start: int, end: int, seed: int) -> list[int]:
        """Unix seconds in [start, end) at which the watched series reaches its limit."""
        return []

    def failures(self, start: int, end: int, seed: int) -> list[Failure]:
        return [Failure(t, self.watched, self.failure_message) for t in self.failure_times(start, end, seed)]


class MemoryLeak(Scenario):
    name = "memory-leak"
    description = (
        "checkout leaks memory from 2h on and is OOM-killed at its 2 GiB limit about 8h after start; "
        "after each restart the leak begins again"
    )
    watched = Watched("checkout", "memory", MEMORY_USAGE.prometheus, MEMORY_LIMIT.prometheus, _CHECKOUT_MEMORY_LIMIT)
    failure_message = f"OOMKilled: memory limit {_CHECKOUT_MEMORY_LIMIT} bytes reached"
    leak_delay_s = 2 * HOUR
    leak_to_limit_s = 6 * HOUR

    def _leak_cycles(self, start: int, seed: int, until: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and length of each leak cycle that begins before `until`; each ends in an OOM kill."""
        starts, lengths = [], []
        moment = start + self.leak_delay_s
        while not starts or moment < until:
            length = int(self.leak_to_limit_s * _jitter(seed, "leak-cycle", len(starts)))
            starts.append(moment)
            lengths.append(length)
            moment += length
        return np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64)

    def failure_times(self, start, end, seed):
        starts, lengths = self._leak_cycles(start, seed, end)
        return [int(t) for t in starts + lengths if t < end]

    def conditions(self, times, start, seed):
        state = normal_day(times, start, seed)
        checkout = service("checkout")
        headroom = checkout.memory_limit_bytes - checkout.memory_baseline_bytes
        starts, lengths = self._leak_cycles(start, seed, int(np.max(times, initial=start)) + 1)
        # Each time falls in the last cycle started at or before it (the first one before the leak).
        cycle = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, None)
        progress = np.clip((times - starts[cycle]) / lengths[cycle], 0.0, 1.0)
        # Slightly accelerating: the leak rate at the end is twice the rate at the start.
        leaked = headroom * (progress + 0.5 * progress**2) / 1.5
        fluctuation = state.memory_bytes["checkout"] - checkout.memory_baseline_bytes
        # GC reclaims less and less as the heap fills, so the sawtooth shrinks towards the limit.
        state.memory_bytes["checkout"] = (
            checkout.memory_baseline_bytes + leaked + fluctuation * (1.0 - leaked / headroom)
        )
        return state


class DbPoolSaturation(Scenario):
    name = "db-pool-saturation"
    description = (
        "traffic grows 40% and checkout's DB connection pool fills, saturating at 100 connections "
        "about 6h after start; wait time rises before it"
    )
    watched = Watched("checkout", "DB connection pool", POOL_CONNECTIONS.prometheus, POOL_MAX.prometheus,
                      DB_POOL_MAX_CONNECTIONS, ((prometheus_label(POOL_STATE_ATTRIBUTE), POOL_USED),))
    failure_message = (
        f"connection pool exhausted: {DB_POOL_MAX_CONNECTIONS} of {DB_POOL_MAX_CONNECTIONS} connections in use"
    )
    saturation_after_s = 6 * HOUR
    initial_in_use = 12.0

    def _saturation_time(self, start: int, seed: int) -> int:
        return start + int(self.saturation_after_s * _jitter(seed, "pool-saturation", 0))

    def failure_times(self, start, end, seed):
        moment = self._saturation_time(start, seed)
        return [moment] if moment < end else []

    def conditions(self, times, start, seed):
        state = normal_day(times, start, seed)
        saturated_at = self._saturation_time(start, seed)
        state.request_rate = state.request_rate * (1.0 + 0.4 * _ramp(times, start + HOUR, start + 5 * HOUR))
        rise = self.initial_in_use + (DB_POOL_MAX_CONNECTIONS - self.initial_in_use) * np.clip(
            (times - start) / (saturated_at - start), 0.0, 1.0
        ) ** 2.5
        # Noise shrinks near the limit so the pool is first full exactly at the failure time.
        headroom = (DB_POOL_MAX_CONNECTIONS - rise) / (DB_POOL_MAX_CONNECTIONS - self.initial_in_use)
        noisy = np.floor(rise + 4.0 * headroom * noise.normal(seed, "pool", times))
        in_use = np.where(times >= saturated_at, DB_POOL_MAX_CONNECTIONS, noisy.clip(1, DB_POOL_MAX_CONNECTIONS - 1))
        wait = pool_wait_seconds(in_use, times, seed)
        # Once the pool is exhausted requests queue behind each other and some time out.
        backlog = 0.3 * np.abs(noise.smooth(seed, "pool-backlog", times, 300))
        wait = np.where(times >= saturated_at, 1.5 + backlog, wait)
        state.pool_in_use = in_use
        state.pool_wait_s = wait
        # The wait adds to every request through checkout, and so to frontend's too.
        for name in ("checkout", "frontend"):
            state.latency_factor[name] = state.latency_factor[name] + wait / service(name).latency_median_s
        state.error_ratio["checkout"] = np.where(times >= saturated_at, 0.08, state.error_ratio["checkout"])
        return state


class DiskFill(Scenario):
    name = "disk-fill"
    description = (
        "db's data filesystem fills (with a nightly log-rotation dip at 03:00 UTC) and is full "
        "about 10h after start"
    )
    # The hostmetrics receiver sends no size series; its utilization (used / (used + free)) reaches 1 when full.
    watched = Watched("db", "disk", FS_UTILIZATION.prometheus, None, 1.0)
    failure_message = 'PANIC: could not write to file "pg_wal/xlogtemp": No space left on device'
    full_after_s = 10 * HOUR
    initial_used = 0.6 * DB_FILESYSTEM_LIMIT_BYTES
    rotation_frees = 0.03 * DB_FILESYSTEM_LIMIT_BYTES
    no_rotation_before_full_s = 2 * HOUR

    def _full_time(self, start: int, seed: int) -> int:
        return start + int(self.full_after_s * _jitter(seed, "disk-full", 0))

    def failure_times(self, start, end, seed):
        moment = self._full_time(start, seed)
        return [moment] if moment < end else []

    def conditions(self, times, start, seed):
        state = normal_day(times, start, seed)
        full_at = self._full_time(start, seed)
        # A rotation just before the disk fills would need the trend above the limit before it,
        # so the last hours run without one.
        last_rotation = full_at - self.no_rotation_before_full_s
        rotations = rotations_between(start, np.minimum(times, last_rotation))
        rotations_until_full = rotations_between(start, np.array([last_rotation]))[0]
        # Fill rate chosen so that growth minus rotation dips reaches the limit at full_at.
        needed = DB_FILESYSTEM_LIMIT_BYTES - self.initial_used + self.rotation_frees * rotations_until_full
        rate = needed / (full_at - start)
        trend = self.initial_used + rate * (times - start) - self.rotation_frees * rotations
        headroom = (DB_FILESYSTEM_LIMIT_BYTES - trend) / DB_FILESYSTEM_LIMIT_BYTES
        jitter = 0.2 * GIB * headroom * noise.smooth(seed, "disk-fill", times, 600)
        used = np.minimum(trend + jitter, DB_FILESYSTEM_LIMIT_BYTES - 1)
        state.disk_used_bytes = np.where(times >= full_at, DB_FILESYSTEM_LIMIT_BYTES, used)
        return state


class ErrorSpike(Scenario):
    name = "error-spike"
    description = (
        "load and latency grow on checkout and payments, then checkout's error rate spikes past 5% "
        "about 5h after start for an hour"
    )
    # The watched series is the request count per status code; the limit is the failed share of all requests.
    watched = Watched("checkout", "error rate", REQUEST_DURATION.prometheus + "_count", None, 0.05)
    failure_message = "error rate above 5%: payments returned 503 Service Unavailable"
    spike_after_s = 5 * HOUR
    spike_length_s = HOUR

    def _spike_time(self, start: int, seed: int) -> int:
        return start + int(self.spike_after_s * _jitter(seed, "error-spike", 0))

    def failure_times(self, start, end, seed):
        moment = self._spike_time(start, seed)
        return [moment] if moment < end else []

    def conditions(self, times, start, seed):
        state = normal_day(times, start, seed)
        spike_at = self._spike_time(start, seed)
        growth = np.clip((times - start) / (spike_at - start), 0.0, 1.0)
        state.request_rate = state.request_rate * (1.0 + 0.5 * growth)
        in_spike = (times >= spike_at) & (times < spike_at + self.spike_length_s)
        after_spike = times >= spike_at + self.spike_length_s
        for name in ("checkout", "payments"):
            state.latency_factor[name] = state.latency_factor[name] * (1.0 + 1.5 * growth**2 + 2.0 * in_spike)
            creeping = state.error_ratio[name] + 0.01 * growth**3
            spiking = 0.2 + 0.03 * noise.normal(seed, f"{name}/spike", times)
            state.error_ratio[name] = np.where(in_spike, spiking, np.where(after_spike, 0.02, creeping))
        # Frontend fails the requests it forwarded to checkout.
        state.error_ratio["frontend"] = state.error_ratio["frontend"] + service("checkout").traffic_share * (
            state.error_ratio["checkout"]
        )
        return state


class DbDegradation(Scenario):
    """db slows down first; the services that call it, directly or not, follow minutes later.

    One strain curve drives everything: db's CPU climbs to 100% and its queries slow down;
    each DB client's pool fills along the same curve a few minutes behind, and frontend
    suffers through both. An operator stops the cause a while after saturation and the
    system recovers. Every service that reaches a limit writes its own failure line.
    """

    name = "db-degradation"
    description = (
        "db degrades from ~3h: its CPU reaches 100% about 1h later as queries slow down; checkout's and "
        "inventory's DB pools fill 5 and 8 min behind it, frontend's latency and errors follow; recovers 45 min later"
    )
    watched = Watched("db", "CPU", CPU_LIMIT_UTILIZATION.prometheus, None, 1.0)
    failure_message = "canceling statement due to statement timeout: CPU saturated, queries queueing"
    # Each DB client fails too, when its pool is exhausted.
    pools_watched = {
        client: Watched(client, "DB connection pool", POOL_CONNECTIONS.prometheus, POOL_MAX.prometheus,
                        DB_POOL_MAX_CONNECTIONS, DbPoolSaturation.watched.labels)
        for client in DB_CLIENT_SERVICES
    }
    pool_failure_message = DbPoolSaturation.failure_message
    degrade_after_s = 3 * HOUR
    saturate_after_s = HOUR  # from the start of the degradation to db's CPU at 100%
    client_lag_s = {"checkout": 5 * 60, "inventory": 8 * 60}  # how far each DB pool trails db
    recover_after_s = 45 * 60  # from db's saturation to the fix
    recovery_s = 10 * 60
    slowest_query_factor = 40.0  # db's query time at saturation, relative to normal

    def _timeline(self, start: int, seed: int) -> tuple[int, int, int]:
        """(degradation begins, db's CPU saturated, fix applied), unix seconds."""
        degrade_at = start + int(self.degrade_after_s * _jitter(seed, "db-degradation", 0))
        saturated_at = degrade_at + int(self.saturate_after_s * _jitter(seed, "db-saturation", 0))
        return degrade_at, saturated_at, saturated_at + self.recover_after_s

    def failure_times(self, start, end, seed):
        _, saturated_at, _ = self._timeline(start, seed)
        return [saturated_at] if saturated_at < end else []

    def failures(self, start, end, seed):
        _, saturated_at, _ = self._timeline(start, seed)
        found = [Failure(saturated_at, self.watched, self.failure_message)]
        for client, watched in self.pools_watched.items():
            found.append(Failure(saturated_at + self.client_lag_s[client], watched, self.pool_failure_message))
        return sorted((f for f in found if start <= f.time < end), key=lambda f: f.time)

    def _strain(self, times: np.ndarray, start: int, seed: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
        """(rise, saturated): the accelerating climb to 1 and where the limit is held, `lag` s behind db."""
        degrade_at, saturated_at, fixed_at = (t + lag for t in self._timeline(start, seed))
        rise = np.clip((times - degrade_at) / (saturated_at - degrade_at), 0.0, 1.0) ** 2
        saturated = (times >= saturated_at) & (times < fixed_at)
        recovered = 1.0 - _ramp(times, fixed_at, fixed_at + self.recovery_s)
        return np.where(times >= fixed_at, recovered, rise), saturated

    def conditions(self, times, start, seed):
        state = normal_day(times, start, seed)
        rise, saturated = self._strain(times, start, seed, 0)
        # db: CPU climbs to 100% exactly at saturation; noise shrinks near the limit.
        base_cpu = state.db_cpu_utilization
        cpu = base_cpu + (1.0 - base_cpu) * rise
        cpu = np.where(saturated, 1.0, np.minimum(cpu, 0.999))
        state.db_cpu_utilization = cpu
        # Queries queue for the CPU: their time grows as 1 / (1 - utilisation), so upstream
        # services feel it only once db is well past its normal load.
        busy = np.minimum(cpu, 1.0 - (1.0 - base_cpu) / self.slowest_query_factor)
        state.db_query_factor = (1.0 - base_cpu) / (1.0 - busy)
        extra_query_s = DB_QUERY_MEDIAN_S * (state.db_query_factor - 1.0)
        extra_s, extra_errors = {}, {}
        for client in DB_CLIENT_SERVICES:
            extra_s[client], extra_errors[client] = self._degrade_client(state, client, times, start, seed,
                                                                         extra_query_s)
        frontend_extra_s = sum(service(c).traffic_share * extra_s[c] for c in DB_CLIENT_SERVICES)
        state.latency_factor["frontend"] = state.latency_factor["frontend"] + frontend_extra_s / service(
            "frontend").latency_median_s
        # Frontend fails the requests its callers failed.
        state.error_ratio["frontend"] = state.error_ratio["frontend"] + sum(
            service(c).traffic_share * extra_errors[c] for c in DB_CLIENT_SERVICES)
        return state

    def _degrade_client(self, state: Conditions, client: str, times, start, seed, extra_query_s):
        """Fill a DB client's pool behind db; return the seconds and error share it adds to its requests."""
        client_rise, client_full = self._strain(times, start, seed, self.client_lag_s[client])
        base = state.pools_in_use[client]
        headroom = 1.0 - client_rise
        noisy = np.floor(base + (DB_POOL_MAX_CONNECTIONS - base) * client_rise
                         + 3.0 * headroom * noise.normal(seed, f"{client}/degraded-pool", times))
        in_use = np.where(client_full, DB_POOL_MAX_CONNECTIONS, noisy.clip(1, DB_POOL_MAX_CONNECTIONS - 1))
        wait = pool_wait_seconds(in_use, times, seed, client)
        backlog = 0.3 * np.abs(noise.smooth(seed, f"{client}/degraded-backlog", times, 300))
        wait = np.where(client_full, 1.5 + backlog, wait)
        state.pools_in_use[client] = in_use
        state.pools_wait_s[client] = wait
        extra_s = wait + QUERIES_PER_REQUEST[client] * extra_query_s
        state.latency_factor[client] = state.latency_factor[client] + extra_s / service(client).latency_median_s
        # Requests time out once the pool is exhausted; a few fail as it nears full.
        normal_errors = state.error_ratio[client]
        state.error_ratio[client] = np.where(client_full, 0.10, normal_errors + 0.02 * client_rise**4)
        return extra_s, state.error_ratio[client] - normal_errors


class HealthyDay(Scenario):
    name = "healthy-day"
    description = "a normal daily cycle of traffic, latency and memory; nothing fails"
    watched = MemoryLeak.watched
    failure_message = ""

    def conditions(self, times, start, seed):
        return normal_day(times, start, seed)
