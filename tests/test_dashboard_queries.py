"""Every PromQL query of every provisioned dashboard returns series from a real Prometheus.

The local stack (tansu Kafka API broker, rotel OTLP collector, the predictor sidecar with the
repo's predictor config, Prometheus with the repo's rules) runs on free ports while loadgen
plays the memory-leak scenario fast, until some target reaches warning. Then each dashboard's
template variables are resolved the way Grafana does (label_values against the same
Prometheus; multi-value variables take their All value) and every panel query is run with
them, as an instant query or a range query like the panel's target says.
"""
from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from foresight_dev.dashboards.queries import PanelQuery, panel_queries, substitute, used_variables, variable_queries
from foresight_dev.devstack.processes import python_script
from foresight_dev.devstack.stack import LocalStack

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = {path.name: json.loads(path.read_text(encoding="utf-8"))
              for path in sorted((REPO / "grafana" / "dashboards").glob("*.json"))}
SCENARIO, SPEED = "memory-leak", 1200
SCRAPE_INTERVAL = 1  # seconds
# What Grafana would put in its built-in variables for a panel over the test's short window
# with a 1 s scrape interval ($__rate_interval is at least four scrape intervals).
BUILTINS = {"__interval": "2s", "__rate_interval": "10s"}

# Played until the leak is predicted: a warning with its whole time-to-failure range within
# the horizon.
READY_WHEN = [
    'foresight_risk_level{predictor="memory"} >= 2',
    'foresight_time_to_failure_seconds{predictor="memory",quantile="0.9"} < +Inf',
]

class NoSeries(AssertionError):
    """A query ran fine but returned no series (the only failure the list above excuses)."""


def all_queries() -> list:
    params = []
    for file_name, dashboard in DASHBOARDS.items():
        for query in panel_queries(dashboard):
            params.append(pytest.param(file_name, query, id=f"{file_name}:{query.panel}:{query.ref_id}"))
    return params


class Prometheus:
    def __init__(self, url: str, start: float):
        self.url, self.start = url, start

    def get(self, path: str, **params) -> list:
        response = requests.get(self.url + path, params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def label_values(self, label: str, selector: str) -> list[str]:
        params = {"start": self.start, "end": time.time()}
        if selector:
            params["match[]"] = selector
        return self.get(f"/api/v1/label/{label}/values", **params)

    def run(self, query: PanelQuery, expr: str) -> list:
        if query.instant:
            return self.get("/api/v1/query", query=expr)["result"]
        return self.get("/api/v1/query_range", query=expr, start=self.start, end=time.time(),
                        step=SCRAPE_INTERVAL)["result"]


def variable_choices(prometheus: Prometheus, dashboard: dict) -> list[dict[str, str]]:
    """Every combination of template variable values a user could pick (All for multi-value)."""
    choices = [{}]
    for variable in variable_queries(dashboard):
        extended = []
        for values in choices:
            selector = substitute(variable.selector, values)
            if variable.multi:
                options = [variable.all_value or ".*"]
            else:
                # No values: Grafana leaves the variable empty, which matches an absent label.
                options = prometheus.label_values(variable.label, selector) or [""]
            extended.extend({**values, variable.name: option} for option in options)
        choices = extended
    return choices


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("stack")
    with LocalStack(workdir, REPO) as stack, open(workdir / "loadgen.log", "w+") as loadgen_log:
        stack.start_kafka()
        stack.start_collector()
        stack.start_prometheus(speed=SPEED, interval=f"{SCRAPE_INTERVAL}s")
        # The compose stack's predictor config: the dashboards must work on what it publishes.
        stack.start_predictor(REPO / "predictors" / "config" / "predictors.yaml",
                              prometheus_url=stack.urls["prometheus"])
        started = time.time()
        send_bad_messages(stack.urls["kafka"])
        loadgen = subprocess.Popen(
            [python_script("loadgen"), "run", SCENARIO, "--endpoint", stack.urls["otlp_http"], "--history", "1d",
             "--speed", str(SPEED), "--duration", "12h", "--json"],
            stdout=subprocess.DEVNULL, stderr=loadgen_log, text=True, start_new_session=True)
        server = Prometheus(stack.urls["prometheus"], started)
        try:
            wait_until_ready(server, stack, loadgen, loadgen_log, timeout=75)
        finally:
            if loadgen.poll() is None:
                loadgen.send_signal(signal.SIGINT)
                loadgen.wait(10)
        time.sleep(3 * SCRAPE_INTERVAL)  # a few more scrapes, so every rate() has two points
        stack.check_alive()
        yield server


def send_bad_messages(bootstrap: str):
    """Undecodable messages, so the bad-input panel has a reason to show."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send("otlp_metrics", b"\xff\xff not protobuf")
    producer.flush()
    producer.close()


def wait_until_ready(server: Prometheus, stack: LocalStack, loadgen: subprocess.Popen, loadgen_log, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(server.get("/api/v1/query", query=condition)["result"] for condition in READY_WHEN):
            return
        if loadgen.poll() not in (None, 0):
            loadgen_log.seek(0)
            pytest.fail(f"loadgen failed (code {loadgen.returncode}): {loadgen_log.read()[-2000:]}")
        stack.check_alive()
        time.sleep(1)
    missing = [c for c in READY_WHEN if not server.get("/api/v1/query", query=c)["result"]]
    pytest.fail(f"after {timeout:.0f}s of playing {SCENARIO} at {SPEED}x these still return nothing: {missing}")


@pytest.fixture(scope="module")
def choices(prometheus) -> dict[str, list[dict[str, str]]]:
    """Dashboard file -> its variable choices, resolved once the data is in."""
    return {name: variable_choices(prometheus, dashboard) for name, dashboard in DASHBOARDS.items()}


@pytest.mark.parametrize("file_name", sorted(DASHBOARDS))
def test_single_value_variables_have_values(choices, file_name):
    for variable in variable_queries(DASHBOARDS[file_name]):
        if variable.multi or variable.name == "instance":
            continue  # All needs no values; targets without an instance label give none
        assert any(choice[variable.name] for choice in choices[file_name]), \
            f"{file_name}: variable ${variable.name} ({variable.label} of {variable.selector}) has no values"


@pytest.mark.parametrize("file_name, query", all_queries())
def test_panel_query_returns_series(prometheus, choices, file_name, query):
    uses_dashboard_variables = bool(used_variables(query.expr) - set(BUILTINS) - {"__range"})
    tried = []
    for values in choices[file_name] if uses_dashboard_variables else [{}]:
        values = {**values, **BUILTINS, "__range": f"{int(time.time() - prometheus.start) + 1}s"}
        expr = substitute(query.expr, values)
        if prometheus.run(query, expr):
            return
        tried.append(expr)
    shown = "\n  ".join(itertools.islice(dict.fromkeys(tried), 5))
    raise NoSeries(f"{query.where} ({'instant' if query.instant else 'range'}) returned no series for any "
                   f"choice of template variables; tried {len(tried)}, e.g.\n  {shown}")
