"""The simulated services, their sizes, and who calls whom."""

from dataclasses import dataclass

MIB = 1024**2
GIB = 1024**3

DB_POOL_MAX_CONNECTIONS = 100  # per client service
DB_POOL_IDLE_MAX = 10  # open connections a pool keeps idle
# Space on db's data filesystem that is free or used; root's reserve (5%) comes on top of it.
DB_FILESYSTEM_LIMIT_BYTES = 200 * GIB
DB_FILESYSTEM_RESERVED_BYTES = 10 * GIB
DB_DATA_MOUNTPOINT = "/var/lib/postgresql"
# The filesystem attributes the hostmetrics receiver sends besides `state`.
DB_FILESYSTEM_ATTRIBUTES = (("device", "/dev/nvme1n1"), ("mode", "rw"), ("mountpoint", DB_DATA_MOUNTPOINT),
                            ("type", "ext4"))
DB_QUERY_MEDIAN_S = 0.004  # median time of one db query under normal load
# Queries each DB client runs per request it serves; traces show one of them as a db span.
QUERIES_PER_REQUEST = {"checkout": 5, "inventory": 3}


@dataclass(frozen=True)
class Service:
    name: str
    memory_baseline_bytes: int
    memory_limit_bytes: int
    # Share of frontend requests that reach this service; None for services without an HTTP server.
    traffic_share: float | None
    # Median server-side latency of a request under normal load.
    latency_median_s: float | None
    span_name: str

    @property
    def instance_id(self) -> str:
        return f"{self.name}-0"

    @property
    def serves_http(self) -> bool:
        return self.traffic_share is not None


SERVICES: tuple[Service, ...] = (
    Service("frontend", 350 * MIB, 1 * GIB, 1.0, 0.120, "GET /checkout"),
    Service("checkout", 600 * MIB, 2 * GIB, 0.4, 0.060, "POST /api/checkout"),
    Service("payments", 300 * MIB, 1 * GIB, 0.4, 0.025, "POST /api/charge"),
    Service("inventory", 400 * MIB, 1 * GIB, 0.6, 0.030, "GET /api/stock"),
    Service("db", 4 * GIB, 8 * GIB, None, None, "SELECT orders"),
)

# (caller, callee): frontend -> checkout -> payments, checkout -> db, frontend -> inventory -> db.
CALLS: tuple[tuple[str, str], ...] = (
    ("frontend", "checkout"),
    ("checkout", "payments"),
    ("checkout", "db"),
    ("frontend", "inventory"),
    ("inventory", "db"),
)

# The services that query db, each through its own connection pool, named as the semantic
# conventions advise when the pool has no name of its own: server.address:server.port/db.namespace.
DB_CLIENT_SERVICES = ("checkout", "inventory")
DB_POOL_NAMES = {"checkout": "db:5432/orders", "inventory": "db:5432/inventory"}
# The DB client whose pool the single-pool scenarios and log lines are about.
DB_CLIENT_SERVICE = "checkout"
# The service whose filesystem is simulated.
DB_SERVICE = "db"

# Frontend requests per second at the quietest hour of a normal day.
BASE_REQUEST_RATE = 40.0


def service(name: str) -> Service:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown service {name!r}; known: {', '.join(s.name for s in SERVICES)}")


def callers_of(name: str) -> list[str]:
    """The services that call `name`; empty for the entry point."""
    return [caller for caller, callee in CALLS if callee == name]


def callees_of(name: str) -> list[str]:
    return [callee for caller, callee in CALLS if caller == name]


def http_services() -> list[Service]:
    return [s for s in SERVICES if s.serves_http]
