"""The metrics loadgen sends: OTel semantic-convention names and units, and who sends which."""

from dataclasses import dataclass
from enum import Enum

from .naming import prometheus_name


class Kind(Enum):
    GAUGE = "gauge"
    COUNTER = "counter"  # monotonic cumulative sum
    HISTOGRAM = "histogram"  # cumulative explicit-bucket histogram


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    kind: Kind
    description: str

    @property
    def prometheus(self) -> str:
        return prometheus_name(self.name, self.unit, monotonic_sum=self.kind is Kind.COUNTER)


MEMORY_USAGE = MetricSpec("process.memory.usage", "By", Kind.GAUGE, "Resident memory of the process")
MEMORY_LIMIT = MetricSpec("process.memory.limit", "By", Kind.GAUGE, "Memory limit of the process (container)")
POOL_IN_USE = MetricSpec(
    "db.client.connection.count", "{connection}", Kind.GAUGE, "Connections of the pool currently in use"
)
POOL_MAX = MetricSpec("db.client.connection.max", "{connection}", Kind.GAUGE, "Maximum connections the pool allows")
POOL_WAIT = MetricSpec(
    "db.client.connection.wait_time", "s", Kind.GAUGE, "Time the latest requests waited for a pool connection"
)
CPU_UTILIZATION = MetricSpec("system.cpu.utilization", "1", Kind.GAUGE, "Share of the host's CPU in use")
FS_USAGE = MetricSpec("system.filesystem.usage", "By", Kind.GAUGE, "Bytes used on the data filesystem")
FS_LIMIT = MetricSpec("system.filesystem.limit", "By", Kind.GAUGE, "Size of the data filesystem")
REQUEST_COUNT = MetricSpec("http.server.request.count", "{request}", Kind.COUNTER, "HTTP requests served")
REQUEST_DURATION = MetricSpec("http.server.request.duration", "s", Kind.HISTOGRAM, "Duration of HTTP requests served")

STATUS_CODE_ATTRIBUTE = "http.response.status_code"
# Status codes are reduced to one success and one failure value to keep cardinality tiny.
STATUS_OK = "200"
STATUS_ERROR = "500"

# The OTel semantic-convention advice for http.server.request.duration.
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
