"""Shared by the restart tests: a real PostgreSQL on a free port, and a scenario of OTLP
payloads (memory that ramps then slows, request latency with a spike, logs with an error
burst) that exercises the exhaustion, anomaly and logs predictors."""
import os
import random
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from otlp_builders import gauge_payload, logs_payload, traces_payload

from foresight.config import parse_config
from foresight_dev.devstack.processes import find_binary, free_port

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes
    limit: 1000
    resource: memory
    policy: {min_history: 1h, peer_history: 0s, hysteresis: 0.4}
  - name: latency
    kind: anomaly
    series: http_server_request_duration_seconds
    policy: {min_history: 1h}
  - name: log-patterns
    kind: logs
""")
T0 = 1_767_225_600
STEPS = 720  # twelve hours, one batch a minute


def scenario(steps: int = STEPS, seed: int = 7) -> list[list[tuple[str, bytes]]]:
    """One batch of messages per minute of event time."""
    rng = random.Random(seed)
    batches, memory = [], 200.0
    for i in range(steps):
        t = T0 + 60 * i
        memory += (1.0 if i < 420 else 0.45) + rng.gauss(0, 1.0)
        latency = 0.2 + 0.01 * rng.gauss(0, 1) + (0.3 if 500 <= i < 510 else 0.0)
        burst = 600 <= i < 640
        batches.append([
            ("metrics", gauge_payload("process.memory.usage", "By", [(t, memory)])),
            ("metrics", gauge_payload("http.server.request.duration", "s", [(t, latency)])),
            ("logs", logs_payload("checkout", [(t, "INFO", f"GET /orders/{i} took {rng.randint(5, 50)}ms"),
                                               (t + 1, "ERROR" if burst else "INFO",
                                                "db timeout after 30s" if burst else "cache hit")])),
            ("traces", traces_payload("checkout", [(t, t + 1, False)])),
        ])
    return batches


@contextmanager
def postgres():
    """A PostgreSQL server of its own, as the user postgres when run as root; yields its URL."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    home = Path(tempfile.mkdtemp(prefix="foresight-pg-"))
    data, port = home / "data", free_port()
    run_as = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(home, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(run_as + [initdb, "-D", str(data), "-U", "foresight", "--auth=trust"], check=True,
                   capture_output=True)
    subprocess.run(run_as + [pg_ctl, "-D", str(data), "-l", str(home / "postgres.log"), "-w", "start", "-o",
                             f"-p {port} -k {data} -c listen_addresses=127.0.0.1"], check=True, capture_output=True)
    try:
        yield f"postgresql://foresight@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(run_as + [pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
