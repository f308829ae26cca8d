"""The example configs for node_exporter and Kubernetes, fed data of their exporters' shape.

Each test plays several hours of 15 s scrapes with the real metric names, label sets and
units (several series per instance, series the selectors must leave out, limit series from
another scrape) through the engine, and checks one prediction per real target with the
right limit and a time to failure that matches the simulated one.
"""
import math
import zlib
from pathlib import Path

import numpy as np
import pytest

from foresight.config import load_config
from foresight.contracts.points import GAUGE, Point
from foresight.runtime.cli import main
from foresight.runtime.engine import Engine

EXAMPLES = Path(__file__).resolve().parents[1] / "config" / "examples"
START = 1767225600  # 2026-01-01T00:00:00Z
STEP = 15  # the scrape interval
HOUR = 3600
GIB = 2**30
MIB = 2**20


@pytest.mark.parametrize("name", ["node-exporter.yaml", "kubernetes.yaml", "otel-semconv.yaml"])
def test_foresight_check_accepts_each_example(name, capsys):
    assert main(["check", "-c", str(EXAMPLES / name)]) == 0
    out = capsys.readouterr().out
    assert f"{name}: ok" in out
    assert len(load_config(EXAMPLES / name).predictors) >= 2


def gauge(metric: str, labels: dict, t: float, value: float) -> Point:
    return Point(metric, tuple(sorted(labels.items())), float(t), float(value), GAUGE)


def play(engine: Engine, scrape, hours: float, chunk: int = 600) -> dict:
    """Feed `scrape(t)` (a list of points) every STEP seconds, evaluating every `chunk` seconds;
    returns the latest prediction of each target (prediction key -> Prediction)."""
    latest = {}
    end = START + int(hours * HOUR)
    for begin in range(START, end, chunk):
        points = [p for t in range(begin, min(begin + chunk, end), STEP) for p in scrape(t)]
        engine.add_points("metrics", points)
        for prediction in engine.evaluate():
            latest[prediction.key] = prediction
        for key in engine.withdrawn:
            latest.pop(key, None)
    return latest


def by_predictor(latest: dict, name: str) -> list:
    return [p for p in latest.values() if p.predictor == name]


def wobble(t: float, amplitude: float, seed: int) -> float:
    """Deterministic noise: a few incommensurate sines."""
    return amplitude * (0.6 * math.sin(t / 97.0 + seed) + 0.4 * math.sin(t / 613.0 + 2 * seed))


def draining(t: float, start_value: float, empty_at: float, seed: int) -> float:
    """A value falling linearly from `start_value` at START to 0 at `empty_at`, with noise."""
    share = (t - START) / (empty_at - START)
    return max(start_value * (1.0 - share) + wobble(t, start_value * 0.004, seed), 1.0)


# node_exporter: (instance, device, fstype, mountpoint, size, avail at START, empty at or None).
FILESYSTEMS = [
    ("node-1:9100", "/dev/nvme0n1p2", "ext4", "/", 100 * GIB, 61 * GIB, None),
    ("node-1:9100", "/dev/nvme1n1", "xfs", "/var/lib/postgresql", 500 * GIB, 50 * GIB, START + 10 * HOUR),
    ("node-1:9100", "/dev/nvme0n1p1", "vfat", "/boot/efi", 512 * MIB, 500 * MIB, None),
    # Pseudo filesystems node-mixin leaves out; these two even look as if they were filling.
    ("node-1:9100", "tmpfs", "tmpfs", "/run", 3 * GIB, 2 * GIB, START + 9 * HOUR),
    ("node-1:9100", "overlay", "overlay", "/var/lib/docker/overlay2/3f1c/merged", 100 * GIB, 61 * GIB,
     START + 9 * HOUR),
    ("node-2:9100", "/dev/sda1", "ext4", "/", 50 * GIB, 30 * GIB, None),
]
# node_exporter memory: (instance, MemTotal, MemAvailable at START, empty at or None).
MEMORY = [("node-1:9100", 16 * GIB, 12 * GIB, START + 12 * HOUR), ("node-2:9100", 8 * GIB, 5 * GIB, None)]
INODES = 6_553_600
INODES_EMPTY = {("node-2:9100", "/"): (3_000_000, START + 14 * HOUR)}  # small files pile up; bytes do not move
# The kernel's tables: (instance, limit, in use at START, full at or None), as
# node_filefd_allocated against node_filefd_maximum and node_nf_conntrack_entries against
# node_nf_conntrack_entries_limit.
# node-2's fs.file-max is systemd's default, 2^63 - 1 (a float sample of 2^63): no failure ahead.
OPEN_FILES = [("node-1:9100", 200_000, 20_000, START + 12 * HOUR), ("node-2:9100", 2.0**63, 5_000, None)]
CONNTRACK = [("node-1:9100", 262_144, 80_000, None), ("node-2:9100", 65_536, 10_000, START + 11 * HOUR)]


def filling(t: float, start_value: float, limit: float, full_at: float | None, seed: int) -> float:
    """A count rising linearly from `start_value` at START to `limit` at `full_at`, or steady."""
    if full_at is None:
        return round(start_value + wobble(t, 0.05 * start_value, seed))
    return round(limit - draining(t, limit - start_value, full_at, seed))


def node_exporter_scrape(t: float) -> list:
    points = []
    for i, (instance, device, fstype, mountpoint, size, avail, empty_at) in enumerate(FILESYSTEMS):
        labels = {"job": "node", "instance": instance, "device": device, "fstype": fstype, "mountpoint": mountpoint}
        now = draining(t, avail, empty_at, i) if empty_at else avail + wobble(t, avail * 0.002, i)
        points += [gauge("node_filesystem_avail_bytes", labels, t, now),
                   gauge("node_filesystem_free_bytes", labels, t, now + 0.05 * size),
                   gauge("node_filesystem_size_bytes", labels, t, size),
                   gauge("node_filesystem_readonly", labels, t, 0),
                   gauge("node_filesystem_files", labels, t, INODES)]
        free, empty_at = INODES_EMPTY.get((instance, mountpoint), (6_000_000, None))
        free = draining(t, free, empty_at, 20 + i) if empty_at else free + wobble(t, 1000, 20 + i)
        points.append(gauge("node_filesystem_files_free", labels, t, round(free)))
    for i, (instance, total, available, empty_at) in enumerate(MEMORY):
        labels = {"job": "node", "instance": instance}
        now = draining(t, available, empty_at, 10 + i) if empty_at else available + wobble(t, 0.01 * total, 10 + i)
        points += [gauge("node_memory_MemTotal_bytes", labels, t, total),
                   gauge("node_memory_MemAvailable_bytes", labels, t, now),
                   gauge("node_memory_MemFree_bytes", labels, t, 0.3 * now),
                   gauge("node_memory_Cached_bytes", labels, t, 0.5 * now)]
    for i, (instance, limit, start_value, full_at) in enumerate(OPEN_FILES):
        labels = {"job": "node", "instance": instance}
        points += [gauge("node_filefd_allocated", labels, t, filling(t, start_value, limit, full_at, 30 + i)),
                   gauge("node_filefd_maximum", labels, t, limit)]
    for i, (instance, limit, start_value, full_at) in enumerate(CONNTRACK):
        labels = {"job": "node", "instance": instance}
        points += [gauge("node_nf_conntrack_entries", labels, t, filling(t, start_value, limit, full_at, 40 + i)),
                   gauge("node_nf_conntrack_entries_limit", labels, t, limit)]
    return points


def assert_time_to_failure(prediction, expected: float):
    """The median time to failure within a factor of 1.6 of the simulated one, and ordered."""
    ttf = prediction.ttf
    assert expected / 1.6 <= ttf[0.5] <= expected * 1.6, (prediction.labels, ttf, expected)
    assert ttf[0.1] <= ttf[0.5] <= ttf[0.9]


def assert_no_failure_ahead(prediction):
    assert prediction.ttf[0.5] == math.inf, (prediction.labels, prediction.ttf)
    assert prediction.probability[24 * HOUR] < 0.2, (prediction.labels, prediction.probability)


@pytest.fixture(scope="module")
def node_exporter_run():
    engine = Engine(load_config(EXAMPLES / "node-exporter.yaml"))
    return play(engine, node_exporter_scrape, hours=8)


def test_node_exporter_one_filesystem_target_per_mountpoint_without_pseudo_filesystems(node_exporter_run):
    targets = {(p.labels.get("service_instance"), p.labels.get("mountpoint")): p
               for p in by_predictor(node_exporter_run, "node-filesystem")}
    assert set(targets) == {("node-1:9100", "/"), ("node-1:9100", "/var/lib/postgresql"),
                            ("node-1:9100", "/boot/efi"), ("node-2:9100", "/")}
    for prediction in targets.values():
        assert prediction.labels["service"] == "node" and prediction.limit == 0
        assert prediction.labels["fstype"] not in ("tmpfs", "overlay")
    filling = targets[("node-1:9100", "/var/lib/postgresql")]
    assert filling.trend_per_second < 0
    assert_time_to_failure(filling, 2 * HOUR)  # empty at 10 h, seen at 8 h
    assert filling.probability[6 * HOUR] > 0.8
    for key in (("node-1:9100", "/"), ("node-1:9100", "/boot/efi"), ("node-2:9100", "/")):
        assert_no_failure_ahead(targets[key])


def test_node_exporter_memory_drains_towards_zero_on_one_host_only(node_exporter_run):
    targets = {p.labels["service_instance"]: p for p in by_predictor(node_exporter_run, "node-memory")}
    assert set(targets) == {"node-1:9100", "node-2:9100"}
    assert targets["node-1:9100"].observed < 6 * GIB
    assert_time_to_failure(targets["node-1:9100"], 4 * HOUR)  # empty at 12 h, seen at 8 h
    assert_no_failure_ahead(targets["node-2:9100"])


def test_node_exporter_inodes_run_out_on_one_filesystem_only(node_exporter_run):
    targets = {(p.labels.get("service_instance"), p.labels.get("mountpoint")): p
               for p in by_predictor(node_exporter_run, "node-inodes")}
    assert set(targets) == {("node-1:9100", "/"), ("node-1:9100", "/var/lib/postgresql"),
                            ("node-1:9100", "/boot/efi"), ("node-2:9100", "/")}
    assert_time_to_failure(targets[("node-2:9100", "/")], 6 * HOUR)  # no inode left at 14 h, seen at 8 h
    for key in (("node-1:9100", "/"), ("node-1:9100", "/var/lib/postgresql"), ("node-1:9100", "/boot/efi")):
        assert_no_failure_ahead(targets[key])  # /var/lib/postgresql fills with bytes, not files


@pytest.mark.parametrize("predictor, table, filling_host, steady_host, hours_left", [
    ("node-file-descriptors", OPEN_FILES, "node-1:9100", "node-2:9100", 4),
    ("node-conntrack", CONNTRACK, "node-2:9100", "node-1:9100", 3)])
def test_node_exporter_kernel_tables_against_their_limit_series(node_exporter_run, predictor, table,
                                                                filling_host, steady_host, hours_left):
    targets = {p.labels["service_instance"]: p for p in by_predictor(node_exporter_run, predictor)}
    assert set(targets) == {"node-1:9100", "node-2:9100"}
    limits = {instance: limit for instance, limit, _, _ in table}
    assert {host: p.limit for host, p in targets.items()} == limits  # each host's own limit series
    assert_time_to_failure(targets[filling_host], hours_left * HOUR)
    assert_no_failure_ahead(targets[steady_host])


# Kubernetes: (namespace, pod, container, limit, working set at START, limit reached at or None).
CONTAINERS = [
    ("shop", "checkout-7d9f8c6b5-x2x7q", "checkout", 1 * GIB, 600 * MIB, START + 3 * HOUR),
    ("shop", "checkout-7d9f8c6b5-x2x7q", "istio-proxy", 256 * MIB, 90 * MIB, None),
    ("shop", "cart-5b6c7d8e9-k4m2n", "cart", 512 * MIB, 300 * MIB, None),
]
NODE = {"node": "worker-1"}
KUBELET = {"job": "kubelet", "instance": "10.0.1.12:10250"}
KSM = {"job": "kube-state-metrics", "instance": "10.0.2.5:8080"}
OOM_CYCLE = 6 * HOUR  # the leaking container is OOM-killed at its limit, restarts and leaks again


def working_set(t: float, start_value: float, limit: float, full_at: float | None, seed: int) -> tuple[float, int]:
    """(bytes, restarts so far): a leak that reaches the limit at `full_at`, then every OOM_CYCLE."""
    if full_at is None:
        return start_value + wobble(t, 0.02 * start_value, seed), 0
    restarts = 0 if t < full_at else 1 + int((t - full_at) // OOM_CYCLE)
    if restarts == 0:
        share = (t - START) / (full_at - START)
    else:
        share = ((t - full_at) % OOM_CYCLE) / OOM_CYCLE
    value = start_value + (limit - start_value) * share + wobble(t, 4 * MIB, seed)
    return min(value, limit - MIB), restarts


def cadvisor_scrape(t: float) -> list:
    points, per_pod = [], {}
    for i, (namespace, pod, container, limit, start_value, full_at) in enumerate(CONTAINERS):
        value, restarts = working_set(t, start_value, limit, full_at, i)
        container_id = f"{zlib.crc32(f'{pod}/{container}/{restarts}'.encode()):012d}"  # new on each restart
        labels = {**KUBELET, "metrics_path": "/metrics/cadvisor", "namespace": namespace, "pod": pod,
                  "container": container, "image": f"registry.example.com/{container}:1.4.2",
                  "id": f"/kubepods/burstable/pod{pod}/{container_id}", "name": container_id}
        points.append(gauge("container_memory_working_set_bytes", labels, t, value))
        points.append(gauge("container_memory_usage_bytes", labels, t, value + 40 * MIB))
        per_pod[(namespace, pod)] = per_pod.get((namespace, pod), 0.0) + value
        ksm = {**KSM, **NODE, "namespace": namespace, "pod": pod, "container": container, "uid": f"uid-{pod}"}
        points.append(gauge("kube_pod_container_resource_limits", {**ksm, "resource": "memory", "unit": "byte"},
                            t, limit))
        points.append(gauge("kube_pod_container_resource_limits", {**ksm, "resource": "cpu", "unit": "core"},
                            t, 0.5))
    for (namespace, pod), total in per_pod.items():
        # The pod's own cgroup (container="", no image) and its pause container: no limits of their own.
        pod_labels = {**KUBELET, "metrics_path": "/metrics/cadvisor", "namespace": namespace, "pod": pod,
                      "id": f"/kubepods/burstable/pod{pod}"}
        points.append(gauge("container_memory_working_set_bytes", {**pod_labels, "container": "", "image": "",
                                                                   "name": ""}, t, total + 2 * MIB))
        points.append(gauge("container_memory_working_set_bytes",
                            {**pod_labels, "container": "POD", "image": "registry.k8s.io/pause:3.9",
                             "name": f"k8s_POD_{pod}", "id": pod_labels["id"] + "/pause"}, t, 600 * 1024))
    return points


# PersistentVolumeClaims: (namespace, claim, capacity, used at START, full at or None).
VOLUMES = [("shop", "data-postgres-0", 50 * GIB, 30 * GIB, START + 12 * HOUR),
           ("shop", "data-redis-0", 10 * GIB, 2 * GIB, None)]
# Their inodes: (inodes, used at START, none left at or None); redis' small files run out first.
VOLUME_INODES = {"data-postgres-0": (3_276_800, 12_000, None), "data-redis-0": (655_360, 100_000, START + 14 * HOUR)}


def inodes_used(t: float, claim: str, seed: int) -> float:
    inodes, used, none_left_at = VOLUME_INODES[claim]
    return filling(t, used, inodes, none_left_at, seed)


def kubelet_volume_scrape(t: float) -> list:
    points = []
    for i, (namespace, claim, capacity, used, full_at) in enumerate(VOLUMES):
        if full_at:
            now = used + (capacity - used) * (t - START) / (full_at - START) + wobble(t, 20 * MIB, 20 + i)
        else:
            now = used + wobble(t, 5 * MIB, 20 + i)
        labels = {**KUBELET, **NODE, "metrics_path": "/metrics", "namespace": namespace,
                  "persistentvolumeclaim": claim}
        points += [gauge("kubelet_volume_stats_used_bytes", labels, t, now),
                   gauge("kubelet_volume_stats_available_bytes", labels, t, capacity - now),
                   gauge("kubelet_volume_stats_capacity_bytes", labels, t, capacity),
                   gauge("kubelet_volume_stats_inodes", labels, t, VOLUME_INODES[claim][0]),
                   gauge("kubelet_volume_stats_inodes_used", labels, t, inodes_used(t, claim, 25 + i))]
    return points


# Applications' process metrics through a ServiceMonitor: (namespace, pod, container, job,
# nofile limit, open at START, limit reached at or None, scraped from, scraped until).
# checkout leaks sockets; cart's pod is replaced at 4 h (a rollout: a new name, a fresh
# process opening its files and connections); the Go exporter runs with containerd's limit.
PROCESSES = [
    ("shop", "checkout-7d9f8c6b5-x2x7q", "checkout", "checkout", 4096, 300, START + 11 * HOUR, START, None),
    ("shop", "cart-5b6c7d8e9-k4m2n", "cart", "cart", 65536, 140, None, START, START + 4 * HOUR),
    ("shop", "cart-5b6c7d8e9-p7w2z", "cart", "cart", 65536, 140, None, START + 4 * HOUR, None),
    ("monitoring", "postgres-exporter-6c9d-2vq8r", "exporter", "postgres-exporter", 1_048_576, 12, None, START, None),
]


def process_scrape(t: float) -> list:
    points = []
    for i, (namespace, pod, container, job, limit, open_fds, full_at, since, until) in enumerate(PROCESSES):
        if t < since or (until is not None and t >= until):
            continue
        warm = 1.0 - math.exp(-(t - since) / 300) if since > START else 1.0  # a new process opens its pools
        labels = {"job": job, "instance": f"10.0.3.{20 + i}:8080", "namespace": namespace, "pod": pod,
                  "container": container, "service": job, "endpoint": "http-metrics"}
        points += [gauge("process_open_fds", labels, t, max(5, round(warm * filling(t, open_fds, limit, full_at, 50 + i)))),
                   gauge("process_max_fds", labels, t, limit),
                   gauge("process_resident_memory_bytes", labels, t, 200 * MIB)]
    return points


@pytest.fixture(scope="module")
def kubernetes_run():
    engine = Engine(load_config(EXAMPLES / "kubernetes.yaml"))
    return play(engine, lambda t: cadvisor_scrape(t) + kubelet_volume_scrape(t) + process_scrape(t), hours=8)


def test_kubernetes_one_target_per_container_with_its_own_limit(kubernetes_run):
    targets = {(p.labels.get("namespace"), p.labels.get("pod"), p.labels.get("container")): p
               for p in by_predictor(kubernetes_run, "container-memory")}
    # The pod-level series (container="") and the pause container (container="POD") are left out;
    # the checkout container's restarts (new id and name) stay one target.
    assert set(targets) == {(c[0], c[1], c[2]) for c in CONTAINERS}
    for namespace, pod, container, limit, _, _ in CONTAINERS:
        prediction = targets[(namespace, pod, container)]
        assert prediction.limit == limit, container
        assert not {"id", "name", "image", "job", "instance", "metrics_path"} & set(prediction.labels)
    leaking = targets[("shop", "checkout-7d9f8c6b5-x2x7q", "checkout")]
    # OOM-killed at 3 h, it leaks again from its baseline and reaches the limit at 9 h; seen at 8 h.
    assert_time_to_failure(leaking, 3 * HOUR + OOM_CYCLE - 8 * HOUR)
    assert_no_failure_ahead(targets[("shop", "cart-5b6c7d8e9-k4m2n", "cart")])
    assert_no_failure_ahead(targets[("shop", "checkout-7d9f8c6b5-x2x7q", "istio-proxy")])


def test_kubernetes_one_target_per_volume_claim_against_its_capacity(kubernetes_run):
    targets = {(p.labels.get("namespace"), p.labels.get("persistentvolumeclaim")): p
               for p in by_predictor(kubernetes_run, "pvc")}
    assert set(targets) == {(v[0], v[1]) for v in VOLUMES}
    assert [targets[(v[0], v[1])].limit for v in VOLUMES] == [v[2] for v in VOLUMES]
    assert_time_to_failure(targets[("shop", "data-postgres-0")], 4 * HOUR)  # full at 12 h, seen at 8 h
    assert_no_failure_ahead(targets[("shop", "data-redis-0")])


def test_kubernetes_volume_inodes_run_out_on_the_claim_of_small_files(kubernetes_run):
    targets = {p.labels.get("persistentvolumeclaim"): p for p in by_predictor(kubernetes_run, "pvc-inodes")}
    assert {claim: p.limit for claim, p in targets.items()} == {c: v[0] for c, v in VOLUME_INODES.items()}
    assert_time_to_failure(targets["data-redis-0"], 6 * HOUR)  # none left at 14 h, seen at 8 h
    assert_no_failure_ahead(targets["data-postgres-0"])  # its bytes fill, its inodes do not


def test_kubernetes_process_file_descriptors_one_target_per_pod_and_only_the_leak_has_a_failure_ahead(
        kubernetes_run):
    targets = {p.labels["pod"]: p for p in by_predictor(kubernetes_run, "process-file-descriptors")}
    assert {"checkout-7d9f8c6b5-x2x7q", "cart-5b6c7d8e9-p7w2z", "postgres-exporter-6c9d-2vq8r"} <= set(targets)
    for namespace, pod, container, job, limit, *_ in PROCESSES:
        if pod in targets:
            assert targets[pod].limit == limit and targets[pod].labels["service"] == job, pod  # job is "service"
            assert not {"instance", "service_instance", "endpoint"} & set(targets[pod].labels)
    assert_time_to_failure(targets["checkout-7d9f8c6b5-x2x7q"], 3 * HOUR)  # at its limit at 11 h, seen at 8 h
    assert_no_failure_ahead(targets["cart-5b6c7d8e9-p7w2z"])  # the new pod's start-up levelled off
    assert_no_failure_ahead(targets["postgres-exporter-6c9d-2vq8r"])


def test_limit_series_from_another_scrape_are_matched_only_on_the_configured_labels():
    """Nothing but namespace, pod and container links a cAdvisor series to its kube-state-metrics
    limit: a limit for another container of the same pod must not be taken."""
    config = load_config(EXAMPLES / "kubernetes.yaml")
    memory = next(p for p in config.predictors if p.name == "container-memory")
    assert tuple(memory.limit_match_on) == ("namespace", "pod", "container")
    engine = Engine(config)
    latest = play(engine, lambda t: [p for p in cadvisor_scrape(t)
                                     if not (p.metric == "kube_pod_container_resource_limits"
                                             and ("container", "istio-proxy") in p.labels)], hours=0.5)
    containers = {p.labels.get("container") for p in by_predictor(latest, "container-memory")}
    assert containers == {"checkout", "cart"}  # istio-proxy has no limit series, so no prediction
    assert np.isfinite([p.limit for p in by_predictor(latest, "container-memory")]).all()
