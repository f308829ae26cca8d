"""Log lines the simulated services write: request summaries and samples, warnings as a limit nears.

Lines look like real service logs: sampled access lines carry request ids, user ids, client
IPs and ports, routes with ids and durations; each service has a handful of templates. As a
failure approaches, warnings grow more frequent and a new error template appears (an
allocation failure near the memory limit, connection timeouts near pool exhaustion, a
failed temporary-file write near a full disk) before the failure line itself.

Volume stays bounded: a few records per service per step, whatever the simulated traffic.
The ids and numbers in a line depend only on (service, time), so cutting a run into other
batches gives the same lines.
"""

import random
from dataclasses import dataclass
from enum import Enum

from .scenarios import Failure
from .series import Batch
from .topology import (DB_CLIENT_SERVICE, DB_DATA_MOUNTPOINT, DB_FILESYSTEM_LIMIT_BYTES, DB_POOL_MAX_CONNECTIONS,
                       DB_SERVICE, SERVICES)

MEMORY_WARN_RATIO = 0.8
MEMORY_ALLOCATION_ERROR_RATIO = 0.93  # a new error template, shortly before the OOM kill
POOL_WAIT_WARN_S = 0.05
POOL_TIMEOUT_ERROR_RATIO = 0.95  # share of the pool in use from which acquisitions time out
DISK_WARN_RATIO = 0.85
DISK_TEMP_FILE_ERROR_RATIO = 0.95
ERROR_RATIO_LOG = 0.05
ACCESS_SAMPLES = 3  # sampled requests (access or error lines) per service per step

# Routes each HTTP service serves; "{id}" becomes a numeric id.
ROUTES = {
    "frontend": ["GET /", "GET /products/{id}", "GET /cart", "POST /cart/items", "GET /checkout"],
    "checkout": ["POST /api/checkout", "GET /api/orders/{id}", "POST /api/orders/{id}/cancel"],
    "payments": ["POST /api/charge", "POST /api/refunds", "GET /api/payments/{id}"],
    "inventory": ["GET /api/stock/{id}", "POST /api/reservations"],
}
CALLEE = {"frontend": "checkout", "checkout": "payments", "inventory": "db", "payments": "acquirer"}
DB_TABLES = ["orders", "order_items", "payments", "stock", "reservations", "users"]


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
        events += _access_samples(batch, i, moment, step)
        events += _memory_warnings(batch, i, moment)
        events += _pool_warnings(batch, i, moment)
        events += _disk_warnings(batch, i, moment)
    return events


def failure_events(failures: list[Failure]) -> list[LogEvent]:
    """The line the failing service writes at the moment it fails."""
    return [LogEvent(f.time, f.watched.service, Severity.ERROR, f.message) for f in failures]


def _rng(service: str, moment: int, topic: str) -> random.Random:
    # Seeded by text, so the same (service, time) gives the same ids in every run.
    return random.Random(f"{service}/{moment}/{topic}")


def _client_ip(r: random.Random) -> str:
    return f"10.{r.randint(0, 3)}.{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1024, 65535)}"


def _request_id(r: random.Random) -> str:
    return f"{r.getrandbits(64):016x}"


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


def _access_samples(batch: Batch, i: int, moment: int, step: int) -> list[LogEvent]:
    """A few sampled requests per service and step: an access line, or an error line if the request failed."""
    events = []
    for svc in SERVICES:
        if svc.name not in batch.requests:
            continue
        count, failed = int(batch.requests[svc.name][i]), int(batch.errors[svc.name][i])
        r = _rng(svc.name, moment, "access")
        median_ms = 1000 * svc.latency_median_s * float(batch.conditions.latency_factor[svc.name][i])
        for k in range(min(count, ACCESS_SAMPLES)):
            at = moment + k * step / (ACCESS_SAMPLES + 1)
            if r.random() < failed / count:  # error lines as frequent as failed requests
                took = median_ms * r.lognormvariate(1, 0.5)
                text = (f"request_id={_request_id(r)} failed after {took:.0f}ms: "
                        f"{CALLEE.get(svc.name, 'upstream')} returned 503 Service Unavailable")
                events.append(LogEvent(at, svc.name, Severity.ERROR, text))
                continue
            route = r.choice(ROUTES.get(svc.name, [f"GET /{svc.name}"])).format(id=r.randint(1, 999_999))
            status = r.choice((200, 200, 200, 201, 204, 304))
            took = median_ms * r.lognormvariate(0, 0.45)
            text = (f"{_client_ip(r)} - {route} {status} {r.randint(120, 80_000)} {took:.1f}ms "
                    f"request_id={_request_id(r)} user_id={r.randint(1, 250_000)}")
            events.append(LogEvent(at, svc.name, Severity.INFO, text))
        if svc.name == DB_CLIENT_SERVICE and count:
            table = r.choice(DB_TABLES)
            took = median_ms * r.lognormvariate(-1, 0.6)
            text = f"query on {table} returned {r.randint(0, 500)} rows in {took:.2f} ms"
            events.append(LogEvent(moment, svc.name, Severity.INFO, text))
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
        if ratio > MEMORY_ALLOCATION_ERROR_RATIO:
            r = _rng(svc.name, moment, "memory")
            text = (f"failed to allocate {r.randint(64, 4096)} KiB response buffer for request_id={_request_id(r)}, "
                    f"retrying after full GC")
            events.append(LogEvent(moment, svc.name, Severity.ERROR, text))
    return events


def _pool_warnings(batch: Batch, i: int, moment: int) -> list[LogEvent]:
    in_use, wait_ms = batch.conditions.pool_in_use[i], 1000 * batch.conditions.pool_wait_s[i]
    if in_use >= DB_POOL_MAX_CONNECTIONS:
        text = f"connection pool exhausted after waiting {wait_ms:.0f} ms"
        return [LogEvent(moment, DB_CLIENT_SERVICE, Severity.ERROR, text)]
    events = []
    if wait_ms > 1000 * POOL_WAIT_WARN_S:
        text = f"waited {wait_ms:.0f} ms for a database connection ({in_use:.0f}/{DB_POOL_MAX_CONNECTIONS} in use)"
        events.append(LogEvent(moment, DB_CLIENT_SERVICE, Severity.WARN, text))
    if in_use >= POOL_TIMEOUT_ERROR_RATIO * DB_POOL_MAX_CONNECTIONS:
        r = _rng(DB_CLIENT_SERVICE, moment, "pool")
        text = (f"timeout acquiring connection to db:5432 for request_id={_request_id(r)} "
                f"after {max(wait_ms, 1.0) * r.uniform(1, 3):.0f} ms")
        events.append(LogEvent(moment, DB_CLIENT_SERVICE, Severity.ERROR, text))
    return events


def _disk_warnings(batch: Batch, i: int, moment: int) -> list[LogEvent]:
    ratio = batch.conditions.disk_used_bytes[i] / DB_FILESYSTEM_LIMIT_BYTES
    if ratio >= 1.0:
        text = f"could not extend file in {DB_DATA_MOUNTPOINT}: No space left on device"
        return [LogEvent(moment, DB_SERVICE, Severity.ERROR, text)]
    events = []
    if ratio > DISK_WARN_RATIO:
        text = f"filesystem {DB_DATA_MOUNTPOINT} is {100 * ratio:.0f}% full"
        events.append(LogEvent(moment, DB_SERVICE, Severity.WARN, text))
    if ratio > DISK_TEMP_FILE_ERROR_RATIO:
        r = _rng(DB_SERVICE, moment, "disk")
        text = (f"could not write temporary file base/pgsql_tmp/pgsql_tmp{r.randint(1000, 40000)}.{r.randint(0, 99)}: "
                f"{100 * ratio:.1f}% of {DB_DATA_MOUNTPOINT} used")
        events.append(LogEvent(moment, DB_SERVICE, Severity.ERROR, text))
    return events
