"""The metrics loadgen sends: the names, units, instruments and attributes real exporters use.

Application metrics follow the OpenTelemetry semantic conventions (`process.memory.usage`,
`db.client.connection.*`, `http.server.request.duration`); what an application cannot know
comes from the collector receivers a real deployment runs: the container's memory limit from
the k8s_cluster receiver, its CPU against its limit from the kubeletstats receiver, and the
filesystem from the hostmetrics receiver (with its attribute names, which predate the
conventions' `system.filesystem.*` ones).
"""

from dataclasses import dataclass
from enum import Enum

from .naming import prometheus_name


class Kind(Enum):
    GAUGE = "gauge"
    UP_DOWN = "up-down counter"  # non-monotonic cumulative sum: a gauge once in Prometheus
    HISTOGRAM = "histogram"  # cumulative explicit-bucket histogram


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    kind: Kind
    description: str
    integer: bool = False  # sent as as_int, as the real instrument does

    @property
    def prometheus(self) -> str:
        """The series name; a histogram's `_count`, `_sum` and `_bucket` series add their suffix."""
        return prometheus_name(self.name, self.unit)


MEMORY_USAGE = MetricSpec("process.memory.usage", "By", Kind.UP_DOWN, "The amount of physical memory in use.",
                          integer=True)
# The k8s_cluster receiver's name; semantic conventions up to 1.40 call it k8s.container.memory.limit.
# Both become k8s_container_memory_limit_bytes in Prometheus.
MEMORY_LIMIT = MetricSpec("k8s.container.memory_limit", "By", Kind.GAUGE,
                          "Maximum resource limit set for the container.", integer=True)
# The kubeletstats receiver's name (enabled in its config); k8s.container.cpu.limit.utilization in the
# semantic conventions since 1.41. Both become k8s_container_cpu_limit_utilization_ratio.
CPU_LIMIT_UTILIZATION = MetricSpec("k8s.container.cpu_limit_utilization", "1", Kind.GAUGE,
                                   "Container cpu utilization as a ratio of the container's limits")
POOL_CONNECTIONS = MetricSpec("db.client.connection.count", "{connection}", Kind.UP_DOWN,
                              "The number of connections that are currently in state described by the state attribute",
                              integer=True)
POOL_MAX = MetricSpec("db.client.connection.max", "{connection}", Kind.UP_DOWN,
                      "The maximum number of open connections allowed", integer=True)
POOL_WAIT = MetricSpec("db.client.connection.wait_time", "s", Kind.HISTOGRAM,
                       "The time it took to obtain an open connection from the pool")
FS_USAGE = MetricSpec("system.filesystem.usage", "By", Kind.UP_DOWN, "Filesystem bytes used.", integer=True)
FS_UTILIZATION = MetricSpec("system.filesystem.utilization", "1", Kind.GAUGE, "Fraction of filesystem bytes used.")
REQUEST_DURATION = MetricSpec("http.server.request.duration", "s", Kind.HISTOGRAM,
                              "Duration of HTTP server requests.")

# http.server.request.duration attributes (the conventions' required and conditionally required ones).
METHOD_ATTRIBUTE = "http.request.method"
ROUTE_ATTRIBUTE = "http.route"
SCHEME_ATTRIBUTE = "url.scheme"
STATUS_CODE_ATTRIBUTE = "http.response.status_code"
ERROR_TYPE_ATTRIBUTE = "error.type"  # only on failed requests: the status code as text
# Status codes are reduced to one success and one failure value to keep cardinality tiny.
STATUS_OK = "200"
STATUS_ERROR = "500"

# db.client.connection.* attributes.
POOL_NAME_ATTRIBUTE = "db.client.connection.pool.name"
POOL_STATE_ATTRIBUTE = "db.client.connection.state"
POOL_USED, POOL_IDLE = "used", "idle"

# system.filesystem.* attributes, as the hostmetrics receiver names them.
FS_STATE_ATTRIBUTE = "state"
FS_USED, FS_FREE, FS_RESERVED = "used", "free", "reserved"

# The OTel semantic-convention advice for http.server.request.duration; reused for the pool wait.
DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
