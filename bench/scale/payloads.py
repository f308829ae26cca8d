"""Realistic OTLP metric payloads, as the collector's Kafka exporter writes them.

Two sources, one message per 15 s scrape each:
- loadgen's services (the OpenTelemetry semantic conventions the repo's predictors read),
  encoded by the OpenTelemetry SDK's own encoder, as in `make demo`;
- node_exporter hosts scraped by the collector's Prometheus receiver: 282 series per
  host, almost none of which a predictor selects, as in a real fleet. Names and labels are
  node_exporter's (node_cpu_seconds_total{cpu,mode}, node_filesystem_avail_bytes{device,
  fstype,mountpoint}, ...).
"""
import random

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

START, STEP = 1_767_225_600, 15
_CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
_MODES = ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user")
_MOUNTS = (("/dev/nvme0n1p2", "ext4", "/"), ("/dev/nvme0n1p1", "vfat", "/boot/efi"),
           ("/dev/nvme1n1", "xfs", "/var/lib/data"), ("tmpfs", "tmpfs", "/run"),
           ("tmpfs", "tmpfs", "/dev/shm"))
_NICS = ("eth0", "eth1", "lo")
_DISKS = ("nvme0n1", "nvme1n1")
_MEMINFO = ("Active", "Active_anon", "Active_file", "AnonPages", "Buffers", "Cached", "CommitLimit",
            "Committed_AS", "Dirty", "Inactive", "Inactive_anon", "Inactive_file", "Mapped", "MemAvailable",
            "MemFree", "MemTotal", "PageTables", "SReclaimable", "SUnreclaim", "Shmem", "Slab",
            "SwapCached", "SwapFree", "SwapTotal", "VmallocUsed", "Writeback")
_COLLECTORS = ("arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats", "dmi", "edac",
               "entropy", "fibrechannel", "filefd", "filesystem", "hwmon", "infiniband", "ipvs", "loadavg",
               "mdadm", "meminfo", "netclass", "netdev", "netstat", "nfs", "nfsd", "nvme", "os", "powersupplyclass",
               "pressure", "rapl", "schedstat", "selinux", "sockstat", "softnet", "stat", "tapestats",
               "textfile", "thermal_zone", "time", "timex", "udp_queues", "uname", "vmstat", "xfs", "zfs")


def _series_of_host() -> list[tuple[str, str, tuple, float]]:
    """(name, kind, attributes, starting value) of one host's node_exporter series."""
    out = []
    for cpu in range(8):
        out += [("node_cpu_seconds_total", "counter", (("cpu", str(cpu)), ("mode", m)), 1000.0) for m in _MODES]
    out += [(f"node_memory_{field}_bytes", "gauge", (), 8e9) for field in _MEMINFO]
    for device, fstype, mount in _MOUNTS:
        attrs = (("device", device), ("fstype", fstype), ("mountpoint", mount))
        out += [(f"node_filesystem_{f}", "gauge", attrs, 1e11) for f in
                ("avail_bytes", "free_bytes", "size_bytes", "files", "files_free", "readonly", "device_error")]
    for nic in _NICS:
        out += [(f"node_network_{d}_{f}_total", "counter", (("device", nic),), 1e6)
                for d in ("receive", "transmit") for f in ("bytes", "packets", "errs", "drop")]
    for disk in _DISKS:
        out += [(f"node_disk_{f}_total", "counter", (("device", disk),), 1e5) for f in
                ("reads_completed", "writes_completed", "read_bytes", "written_bytes", "io_time_seconds",
                 "read_time_seconds", "write_time_seconds")]
    out += [(n, "gauge", (), 1.0) for n in ("node_load1", "node_load5", "node_load15", "node_procs_running",
                                            "node_procs_blocked", "node_entropy_available_bits",
                                            "node_filefd_allocated", "node_filefd_maximum", "node_boot_time_seconds",
                                            "node_time_seconds", "node_timex_offset_seconds")]
    out += [(n, "counter", (), 1e7) for n in ("node_context_switches_total", "node_intr_total", "node_forks_total",
                                              "node_vmstat_pgfault", "node_vmstat_pgmajfault")]
    for c in _COLLECTORS:
        out += [("node_scrape_collector_duration_seconds", "gauge", (("collector", c),), 0.001),
                ("node_scrape_collector_success", "gauge", (("collector", c),), 1.0)]
    out += [(n, "gauge", (), 1e6) for n in ("go_goroutines", "go_threads", "go_memstats_alloc_bytes",
                                            "go_memstats_heap_inuse_bytes", "go_memstats_heap_objects",
                                            "process_resident_memory_bytes", "process_open_fds",
                                            "process_max_fds", "process_virtual_memory_bytes")]
    out += [("process_cpu_seconds_total", "counter", (), 10.0), ("up", "gauge", (), 1.0),
            ("scrape_duration_seconds", "gauge", (), 0.02), ("scrape_samples_scraped", "gauge", (), 330.0)]
    return out


HOST_SERIES = _series_of_host()


def node_exporter_message(hosts: list[int], scrape: int, rng: random.Random) -> bytes:
    """One scrape of these hosts, as the collector's Prometheus receiver translates it."""
    req = ExportMetricsServiceRequest()
    t = (START + scrape * STEP) * 10**9
    for host in hosts:
        rm = req.resource_metrics.add()
        for key, value in (("service.name", "node"), ("service.instance.id", f"host-{host}:9100"),
                           ("server.address", f"host-{host}"), ("server.port", "9100"), ("url.scheme", "http")):
            kv = rm.resource.attributes.add()
            kv.key, kv.value.string_value = key, value
        sm = rm.scope_metrics.add()
        sm.scope.name, sm.scope.version = "otelcol/prometheusreceiver", "0.111.0"
        metrics = {}
        for name, kind, attrs, start in HOST_SERIES:
            metric = metrics.get(name)
            if metric is None:
                metric = metrics[name] = sm.metrics.add()
                metric.name = name
                if kind == "counter":
                    metric.sum.aggregation_temporality, metric.sum.is_monotonic = _CUMULATIVE, True
            points = metric.sum.data_points if kind == "counter" else metric.gauge.data_points
            dp = points.add()
            for k, v in attrs:
                kv = dp.attributes.add()
                kv.key, kv.value.string_value = k, v
            dp.start_time_unix_nano = START * 10**9
            dp.time_unix_nano = t
            grow = (scrape + 1) * rng.uniform(0.5, 2.0) if kind == "counter" else rng.uniform(-0.05, 0.05) * start
            dp.as_double = start + grow
    return req.SerializeToString()


def loadgen_messages(scrapes: int, seed: int = 1) -> list[bytes]:
    """loadgen's memory-leak scenario, one message per scrape with every service's metrics."""
    from loadgen import otlp
    from loadgen.registry import get_scenario
    from loadgen.series import Timeline
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics

    timeline = Timeline(get_scenario("memory-leak"), START, STEP, seed)
    return [encode_metrics(otlp.metrics_data(timeline.next_batch(1), START)).SerializeToString()
            for _ in range(scrapes)]


def messages(scrapes: int, hosts: int, hosts_per_message: int, seed: int = 1) -> list[bytes]:
    """Every scrape's loadgen message and node_exporter messages, in time order."""
    rng = random.Random(seed)
    services = loadgen_messages(scrapes, seed)
    out = []
    for k in range(scrapes):
        out.append(services[k])
        for first in range(0, hosts, hosts_per_message):
            out.append(node_exporter_message(list(range(first, min(hosts, first + hosts_per_message))), k, rng))
    return out
