"""Shared by the lifecycle tests: a real MLflow server (SQLite backend store, artifacts on
disk) on a free port, and loadgen's memory-leak history.

The server is the mlflow package from its own virtualenv, .venv-mlflow (`make setup` makes
it): Foresight talks to it over REST and does not install mlflow itself."""
import csv
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

from foresight_dev.devstack.processes import Process, StackError, free_port, python_script

REPO = Path(__file__).resolve().parents[2]

CONFIG = """\
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes
    limit_series: k8s_container_memory_limit_bytes
    resource: memory
    unit: bytes
  - name: memory-anomaly
    kind: anomaly
    series: process_memory_usage_bytes
  - name: log-patterns
    kind: logs
"""


def mlflow_binary() -> str:
    for candidate in (REPO / ".venv-mlflow" / "bin" / "mlflow", shutil.which("mlflow")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise StackError("mlflow not found: `make setup` installs it in .venv-mlflow "
                     "(python3 -m venv .venv-mlflow && .venv-mlflow/bin/pip install 'mlflow>=3,<4')")


@contextmanager
def mlflow_server(folder: Path):
    """`mlflow server` with a SQLite backend store; yields its URL."""
    port = free_port()
    proc = Process("mlflow", [mlflow_binary(), "server", "--backend-store-uri",
                              f"sqlite:///{folder / 'mlflow.db'}", "--artifacts-destination", str(folder / "artifacts"),
                              "--host", "127.0.0.1", "--port", str(port), "--workers", "1"], folder)
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http(url + "/health", timeout=180)
        yield url
    finally:
        proc.stop()


def loadgen_history(folder: Path, duration: str = "2d", seed: int = 1) -> tuple[list, list]:
    """loadgen's memory-leak scenario, one row a minute: (rows of (t, used, limit), failure times)."""
    data, failures = folder / "memory.csv", folder / "failures.csv"
    subprocess.run([python_script("loadgen"), "csv", "memory-leak", "--output", str(data), "--failures",
                    str(failures), "--duration", duration, "--step", "60s", "--seed", str(seed)],
                   check=True, capture_output=True)
    with open(data) as handle:
        rows = [(int(r["timestamp"]), float(r["process_memory_usage_bytes"]),
                 float(r["k8s_container_memory_limit_bytes"])) for r in csv.DictReader(handle)]
    with open(failures) as handle:
        times = [int(r["timestamp"]) for r in csv.DictReader(handle)]
    return rows, times
