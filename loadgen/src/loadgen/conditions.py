"""What the simulated system looks like at given times, before it is turned into telemetry.

A scenario is a pure function from (times, start, seed) to Conditions; the normal day below
is what every scenario starts from before it bends the part it is about.
"""

from dataclasses import dataclass

import numpy as np

from . import noise
from .topology import (BASE_REQUEST_RATE, DB_CLIENT_SERVICE, DB_CLIENT_SERVICES, DB_FILESYSTEM_LIMIT_BYTES,
                       DB_POOL_MAX_CONNECTIONS, GIB, SERVICES, http_services)

DAY = 86400
HOUR = 3600
# Nightly log rotation on the database host, as UTC seconds past midnight.
LOG_ROTATION_SECOND_OF_DAY = 3 * HOUR


@dataclass
class Conditions:
    times: np.ndarray  # unix seconds, int64
    request_rate: np.ndarray  # frontend requests per second
    latency_factor: dict[str, np.ndarray]  # multiplier on each HTTP service's median latency
    error_ratio: dict[str, np.ndarray]  # share of each HTTP service's requests that fail
    memory_bytes: dict[str, np.ndarray]
    pools_in_use: dict[str, np.ndarray]  # connections of each DB client's pool in use
    pools_wait_s: dict[str, np.ndarray]  # time a request of each DB client waits for a pool connection
    disk_used_bytes: np.ndarray  # db's data filesystem
    db_cpu_utilization: np.ndarray  # share of db's CPU in use, 0..1
    db_query_factor: np.ndarray  # multiplier on db's median query time

    # The single-pool scenarios and log lines speak of DB_CLIENT_SERVICE's pool.
    @property
    def pool_in_use(self) -> np.ndarray:
        return self.pools_in_use[DB_CLIENT_SERVICE]

    @pool_in_use.setter
    def pool_in_use(self, value: np.ndarray) -> None:
        self.pools_in_use[DB_CLIENT_SERVICE] = value

    @property
    def pool_wait_s(self) -> np.ndarray:
        return self.pools_wait_s[DB_CLIENT_SERVICE]

    @pool_wait_s.setter
    def pool_wait_s(self, value: np.ndarray) -> None:
        self.pools_wait_s[DB_CLIENT_SERVICE] = value


def daily_load(times: np.ndarray, seed: int) -> np.ndarray:
    """Load relative to the quietest hour: 1.0 at 04:00 UTC up to about 1.6 at 16:00 UTC."""
    phase = 2 * np.pi * ((times - 4 * HOUR) % DAY) / DAY
    wobble = 0.03 * noise.smooth(seed, "load", times, 900)
    return 1.0 + 0.6 * (0.5 - 0.5 * np.cos(phase)) + wobble


def gc_sawtooth(times: np.ndarray, seed: int, service: str, amplitude: float) -> np.ndarray:
    """Heap that grows between collections and drops at each one (period ~4-7 minutes)."""
    period = 240 + int(noise.uniform(seed, f"{service}/gc-period", np.array([0]))[0] * 180)
    offset = int(noise.uniform(seed, f"{service}/gc-offset", np.array([0]))[0] * period)
    return amplitude * (((times + offset) % period) / period)


def memory_fluctuation(times: np.ndarray, seed: int, service: str, load: np.ndarray) -> np.ndarray:
    """Bytes around a service's baseline: GC sawtooth, load, and noise; bounded by ~15% of baseline."""
    baseline = next(s for s in SERVICES if s.name == service).memory_baseline_bytes
    sawtooth = gc_sawtooth(times, seed, service, 0.06 * baseline) if service != "db" else 0.0
    from_load = 0.04 * baseline * (load - 1.0) / 0.6
    jitter = 0.01 * baseline * noise.normal(seed, f"{service}/memory", times)
    return sawtooth + from_load + jitter


def pool_wait_seconds(in_use: np.ndarray, times: np.ndarray, seed: int, client: str = DB_CLIENT_SERVICE) -> np.ndarray:
    """Wait for a connection: negligible at low use, steep as the pool nears full."""
    utilisation = in_use / DB_POOL_MAX_CONNECTIONS
    stream = "pool-wait" if client == DB_CLIENT_SERVICE else f"{client}/pool-wait"
    jitter = 1.0 + 0.1 * noise.normal(seed, stream, times)
    return (0.001 + 1.5 * utilisation**12) * jitter


def rotations_between(start: int, times: np.ndarray) -> np.ndarray:
    """How many nightly log rotations happened in (start, t] for each t."""
    first = ((start - LOG_ROTATION_SECOND_OF_DAY) // DAY + 1) * DAY + LOG_ROTATION_SECOND_OF_DAY
    return np.where(times >= first, (times - first) // DAY + 1, 0)


def normal_day(times: np.ndarray, start: int, seed: int) -> Conditions:
    """A healthy system on a daily traffic cycle; nothing approaches a limit."""
    times = np.asarray(times, dtype=np.int64)
    load = daily_load(times, seed)
    busy = (load - 1.0) / 0.6  # 0 at the quietest hour, ~1 at the busiest
    latency = {
        s.name: 1.0 + 0.25 * busy + 0.05 * noise.smooth(seed, f"{s.name}/latency", times, 600)
        for s in http_services()
    }
    errors = {
        s.name: 0.002 * (1.0 + 0.5 * noise.normal(seed, f"{s.name}/errors", times, clip=1.8))
        for s in http_services()
    }
    memory = {
        s.name: s.memory_baseline_bytes + memory_fluctuation(times, seed, s.name, load) for s in SERVICES
    }
    pools = {
        # checkout keeps its original noise stream so the single-pool scenarios are unchanged.
        client: np.round(8 + 10 * busy + 1.5 * noise.normal(seed, "pool" if client == DB_CLIENT_SERVICE
                                                               else f"{client}/pool", times)).clip(1, None)
        for client in DB_CLIENT_SERVICES
    }
    cpu = 0.25 + 0.15 * busy + 0.02 * noise.normal(seed, "db/cpu", times)
    # Logs accumulate on the database host through the day and are rotated away each night.
    since_rotation = (times - LOG_ROTATION_SECOND_OF_DAY) % DAY
    disk = 90 * GIB + 0.4 * GIB * since_rotation / HOUR + 0.05 * GIB * noise.smooth(seed, "disk", times, 1800)
    return Conditions(
        times=times,
        request_rate=BASE_REQUEST_RATE * load,
        latency_factor=latency,
        error_ratio=errors,
        memory_bytes=memory,
        pools_in_use=pools,
        pools_wait_s={client: pool_wait_seconds(in_use, times, seed, client) for client, in_use in pools.items()},
        disk_used_bytes=np.minimum(disk, DB_FILESYSTEM_LIMIT_BYTES),
        db_cpu_utilization=cpu,
        db_query_factor=np.ones(len(times)),
    )
