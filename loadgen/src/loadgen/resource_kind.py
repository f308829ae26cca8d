"""What every resource kind of the exhaustion benchmark shares: the Kind interface, the
series it yields, and the quiet-service curve most kinds start from.

A kind's `share(times, start, seed)` is the used share of the limit at each unix second;
`episodes(start, end, seed)` gives each failure (the series reaches the limit exactly
there) and when the run-up to it began.
"""

from dataclasses import dataclass, field

import numpy as np

from . import noise
from .conditions import DAY, HOUR
from .topology import DB_FILESYSTEM_LIMIT_BYTES, DB_POOL_MAX_CONNECTIONS, service

MINUTE = 60
MEMORY_LIMIT_BYTES = float(service("checkout").memory_limit_bytes)
DISK_LIMIT_BYTES = float(DB_FILESYSTEM_LIMIT_BYTES)
POOL_LIMIT = float(DB_POOL_MAX_CONNECTIONS)
LIMITS = {"memory": MEMORY_LIMIT_BYTES, "disk": DISK_LIMIT_BYTES, "pool": POOL_LIMIT}


def _u(seed: int, stream: str, index: int = 0) -> float:
    return float(noise.uniform(seed, stream, np.array([index]))[0])


def _between(seed: int, stream: str, low: float, high: float, index: int = 0) -> float:
    return low + (high - low) * _u(seed, stream, index)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def business_day(times: np.ndarray) -> np.ndarray:
    """0 at night, 1 in office hours (ramp 07:00-10:00 UTC, down 18:00-21:00); weekends at 0.45."""
    second = (times % DAY).astype(np.float64)
    up = _smoothstep((second - 7 * HOUR) / (3 * HOUR))
    down = _smoothstep((second - 18 * HOUR) / (3 * HOUR))
    weekday = ((times // DAY + 3) % 7)  # 0 = Monday (1970-01-01 was a Thursday)
    return (up - down) * np.where(weekday >= 5, 0.45, 1.0)


def _baseline(times: np.ndarray, seed: int, level: float, cycle: float, gc: float = 0.02) -> np.ndarray:
    """A quiet service: level + business-day cycle + GC sawtooth (~5 min) + noise, as a share of the limit."""
    period = 240 + int(_u(seed, "gc-period") * 180)
    saw = gc * ((times % period) / period)
    wander = 0.01 * noise.smooth(seed, "wander", times, 1800)
    jitter = 0.004 * noise.normal(seed, "jitter", times)
    return level + cycle * business_day(times) + saw + wander + jitter


def _toward_limit(base: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Blend towards the limit (1.0): exactly 1 when progress is 1, below it before."""
    return base + (1.0 - base) * progress


@dataclass
class ResourceSeries:
    kind: str
    times: np.ndarray  # unix seconds
    used: np.ndarray  # bytes (connections for the pool)
    limit: np.ndarray  # bytes (connections for the pool)
    failures: list = field(default_factory=list)  # unix seconds at which used reaches limit
    failures_after: list = field(default_factory=list)  # failures in the day after the series ends
    ramp_starts: list = field(default_factory=list)  # for each failure, when the leak/fill leading to it began
    failing: bool = False


class Kind:
    name: str = ""
    description: str = ""
    failing: bool = False
    resource: str = "memory"  # memory (checkout), disk (db) or pool (checkout's DB connections)
    step: int = 60  # sampling step of the benchmark suite, seconds
    min_run_up: float = 6 * HOUR  # shortest time from a ramp start to its failure
    whole_units: bool = False  # used is a count (connections): floored, so it equals the limit only at a failure

    @property
    def limit_bytes(self) -> float:
        return LIMITS[self.resource]

    def first_time(self, start: int, seed: int) -> int:
        """When the series begins (a target that appears mid-run begins later)."""
        return start

    def episodes(self, start: int, end: int, seed: int) -> list[tuple[int, int]]:
        """(ramp start, failure time) of each failure in [start, end)."""
        return []

    def share(self, times: np.ndarray, start: int, seed: int) -> np.ndarray:
        raise NotImplementedError
