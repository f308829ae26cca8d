"""Log lines the simulated services write: a request summary per step, warnings as a limit nears.

Volume stays bounded: a few records per service per step, whatever the simulated traffic.
"""

from dataclasses import dataclass
from enum import Enum

from .scenarios import Failure
from .series import Batch
from .topology import (
    DB_CLIENT_SERVICE,
    DB_DATA_MOUNTPOINT,
    DB_FILESYSTEM_LIMIT_BYTES,
    DB_POOL_MAX_CONNECTIONS,
    DB_SERVICE,
    SERVICES,
)

MEMORY_WARN_RATIO = 0.8
POOL_WAIT_WARN_S = 0.05
DISK_WARN_RATIO = 0.85
ERROR_RATIO_LOG = 0.05


class Severity(Enum):
    # Values are OTLP severity numbers.
    INFO = 9
    WARN = 13
    ERROR = 17


@dataclass(frozen=True)
class LogEvent:
    time: float  # unix seconds
    service: str
    severity: Severity
    body: str


def step_events(batch: Batch, step: int) -> list[LogEvent]:
    """Every service's log lines at each point of the batch."""
    events = []
    for i, moment in enumerate(batch.times.tolist()):
        events += _request_summaries(batch, i, moment, step)
        events += _memory_warnings(batch, i, moment)
        events += _pool_warnings(batch, i, moment)
        events += _disk_warnings(batch, i, moment)
    return events


def failure_events(failures: list[Failure]) -> list[LogEvent]:
    """The line the failing service writes at the moment it fails."""
    return [LogEvent(f.time, f.watched.service, Severity.ERROR, f.message) for f in failures]


def _request_summaries(batch: Batch, i: int, moment: int, step: int) -> list[LogEvent]:
    events = []
    for name, requests in batch.requests.items():
        count, failed = int(requests[i]), int(batch.errors[name][i])
        summary = f"handled {count} requests in the last {step}s, {failed} failed"
        events.append(LogEvent(moment, name, Severity.INFO, summary))
        if count and failed / count > ERROR_RATIO_LOG:
            detail = f"{failed} of {count} requests failed: upstream returned 503 Service Unavailable"
            events.append(LogEvent(moment, name, Severity.ERROR, detail))
    return events


def _memory_warnings(batch: Batch, i: int, moment: int) -> list[LogEvent]:
    events = []
    for svc in SERVICES:
        ratio = batch.conditions.memory_bytes[svc.name][i] / svc.memory_limit_bytes
        if ratio > MEMORY_WARN_RATIO:
            # The collector runs ever more often as free heap shrinks.
            overhead = 5 + 60 * (ratio - MEMORY_WARN_RATIO) / (1 - MEMORY_WARN_RATIO)
            text = f"GC overhead {overhead:.0f}% of CPU, heap at {100 * ratio:.0f}% of limit"
            events.append(LogEvent(moment, svc.name, Severity.WARN, text))
    return events


def _pool_warnings(batch: Batch, i: int, moment: int) -> list[LogEvent]:
    in_use, wait_ms = batch.conditions.pool_in_use[i], 1000 * batch.conditions.pool_wait_s[i]
    if in_use >= DB_POOL_MAX_CONNECTIONS:
        text = f"connection pool exhausted after waiting {wait_ms:.0f} ms"
        return [LogEvent(moment, DB_CLIENT_SERVICE, Severity.ERROR, text)]
    if wait_ms > 1000 * POOL_WAIT_WARN_S:
        text = f"waited {wait_ms:.0f} ms for a database connection ({in_use:.0f}/{DB_POOL_MAX_CONNECTIONS} in use)"
        return [LogEvent(moment, DB_CLIENT_SERVICE, Severity.WARN, text)]
    return []


def _disk_warnings(batch: Batch, i: int, moment: int) -> list[LogEvent]:
    ratio = batch.conditions.disk_used_bytes[i] / DB_FILESYSTEM_LIMIT_BYTES
    if ratio >= 1.0:
        text = f"could not extend file in {DB_DATA_MOUNTPOINT}: No space left on device"
        return [LogEvent(moment, DB_SERVICE, Severity.ERROR, text)]
    if ratio > DISK_WARN_RATIO:
        text = f"filesystem {DB_DATA_MOUNTPOINT} is {100 * ratio:.0f}% full"
        return [LogEvent(moment, DB_SERVICE, Severity.WARN, text)]
    return []
