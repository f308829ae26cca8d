"""Warm-up from a real Prometheus: history backfilled with promtool, read with query_range."""
import subprocess
import time

import pytest

from foresight.config import parse_config
from foresight.runtime.service import Service, Settings
from foresight.sources.prometheus import query_range
from foresight_dev.devstack.processes import Process, find_binary, free_port

pytestmark = pytest.mark.integration

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes{job="checkout"}
    limit_series: k8s_container_memory_limit_bytes
    resource: memory
    unit: bytes
""")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prom")
    now = int(time.time()) // 60 * 60
    lines = ["# TYPE process_memory_usage_bytes gauge", "# TYPE k8s_container_memory_limit_bytes gauge"]
    usage, limit = [], []
    for i in range(180, 0, -1):  # three hours, one point a minute, growing 5 MB a minute
        t = now - i * 60
        usage.append(f'process_memory_usage_bytes{{job="checkout",instance="checkout-0"}} {1e9 + (180 - i) * 5e6} {t}')
        limit.append(f'k8s_container_memory_limit_bytes{{job="checkout",instance="checkout-0"}} 3e9 {t}')
    (tmp / "history.om").write_text("\n".join(lines[:1] + usage + lines[1:] + limit + ["# EOF", ""]))
    data = tmp / "data"
    subprocess.run([find_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(tmp / "history.om"),
                    str(data)], check=True, capture_output=True)
    (tmp / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
    port = free_port()
    proc = Process("prometheus", [find_binary("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                                  f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}"], tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http(url + "/-/ready", timeout=60)
        yield url, now
    finally:
        proc.stop()


def test_query_range_returns_points_with_labels(prometheus):
    url, now = prometheus
    points = query_range(url, 'process_memory_usage_bytes{job="checkout"}', now - 3 * 3600, now, 60)
    assert len(points) >= 170
    assert dict(points[0].labels) == {"job": "checkout", "instance": "checkout-0"}
    assert points[0].metric == "process_memory_usage_bytes"


def test_restart_is_not_blind(prometheus):
    url, now = prometheus
    svc = Service(CONFIG, Settings(prometheus_url=url, warmup=3 * 3600, warmup_step=60))
    svc.warm_up(now)
    assert svc.registry.get_sample_value("foresight_warmup_points_total") >= 340
    ids = {"predictor": "memory", "service": "checkout", "service_instance": "checkout-0"}
    # 5 MB a minute with about 1.1 GB left: about 3.7 h, known before any Kafka message.
    ttf = svc.registry.get_sample_value("foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"})
    assert 3.2 * 3600 < ttf < 4.2 * 3600
