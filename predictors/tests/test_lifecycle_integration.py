"""The model lifecycle on real servers: train from a real Prometheus (loadgen's memory-leak
history, backfilled with promtool), register in a real MLflow server, promote, start a
sidecar from the champion, run a challenger of another config in shadow beside it, see
drift raise ForesightModelDrift in Prometheus and the trainer retrain on it, promote
again and watch the sidecar switch without a restart.

The sidecar is runtime.service.Service with its registry settings, fed OTLP payloads
directly (as test_restarts does) and serving its /metrics, which the same Prometheus
scrapes every second and evaluates the generated rules on (their `for:` scaled 60 times
shorter, as the demo stack does); `apply_pending` is the call its run loop makes every
poll, and the aliases are followed by the sidecar's own thread.
"""
import hashlib
import json
import math
import shutil
import subprocess
import time

import pytest
import requests
import yaml
from lifecycle_helpers import CONFIG, REPO, loadgen_history, mlflow_server
from otlp_builders import gauge_payload

from foresight.config import load_config, parse_config
from foresight.generate.rules import generate_rules
from foresight.lifecycle.registry import Registry
from foresight.publish.endpoints import serve
from foresight.runtime.cli import main
from foresight.runtime.service import Service, Settings
from foresight.runtime.trainer import Schedule, Trainer
from foresight.sources.csv_table import format_timestamp
from foresight_dev.devstack.processes import Process, find_binary, free_port
from foresight_dev.devstack.stack import scale_rule_for

pytestmark = pytest.mark.integration

HOUR = 3600
LIVE_FROM = 36 * HOUR  # the sidecar's stream starts here, after both training windows
V1 = (4 * HOUR, LIVE_FROM)
OTHER = (22 * HOUR, 34 * HOUR)  # the challenger's and the trainer's window
IDS = {"predictor": "memory", "service": "checkout", "service_instance": "checkout-0"}
LABELS = 'job="checkout",instance="checkout-0"'
# The challenger's config: another model config (one forecaster only) for the same series.
OTHER_CONFIG = CONFIG.replace("    unit: bytes\n", "    unit: bytes\n    candidates: [robust-trend]\n", 1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lifecycle")
    rows, failures = loadgen_history(tmp)
    lines = ["# TYPE process_memory_usage_bytes gauge"]
    lines += [f"process_memory_usage_bytes{{{LABELS}}} {used} {t}" for t, used, _ in rows]
    lines += ["# TYPE k8s_container_memory_limit_bytes gauge"]
    lines += [f"k8s_container_memory_limit_bytes{{{LABELS}}} {limit} {t}" for t, _, limit in rows]
    (tmp / "history.om").write_text("\n".join(lines + ["# EOF", ""]))
    subprocess.run([find_binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(tmp / "history.om"),
                    str(tmp / "data")], check=True, capture_output=True)
    # The generated rules, their `for:` 60 times shorter; a scrape of the in-process sidecar.
    rules = scale_rule_for(yaml.safe_load(generate_rules(parse_config(CONFIG, "predictors.yaml"))), speed=60)
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules))
    sidecar = free_port()
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": [str(tmp / "rules.yml")],
        "scrape_configs": [{"job_name": "foresight", "static_configs": [{"targets": [f"127.0.0.1:{sidecar}"]}]}]}))
    port = free_port()
    prometheus = Process("prometheus", [find_binary("prometheus"), f"--config.file={tmp / 'prometheus.yml'}",
                                        f"--storage.tsdb.path={tmp / 'data'}",
                                        f"--web.listen-address=127.0.0.1:{port}"], tmp)
    (tmp / "predictors.yaml").write_text(CONFIG)
    (tmp / "other.yaml").write_text(OTHER_CONFIG)
    try:
        prometheus.wait_http(f"http://127.0.0.1:{port}/-/ready", timeout=60)
        with mlflow_server(tmp) as registry:
            yield {"prometheus": f"http://127.0.0.1:{port}", "registry": registry, "rows": rows,
                   "failures": failures, "config": tmp / "predictors.yaml", "other": tmp / "other.yaml", "tmp": tmp,
                   "sidecar": f"127.0.0.1:{sidecar}"}
    finally:
        prometheus.stop()


def train(stack, window, output, config=None) -> int:
    t0 = stack["rows"][0][0]
    return main(["train", "-c", str(config or stack["config"]), "--prometheus", stack["prometheus"],
                 "--start", format_timestamp(t0 + window[0]), "--end", format_timestamp(t0 + window[1]),
                 "--registry", stack["registry"], "--output-dir", str(output)])


def live(rows, first: int, count: int) -> list:
    """OTLP messages of the history's rows [first, first + count), one batch per row."""
    return [[("metrics", gauge_payload("process.memory.usage", "By", [(t, used)])),
             ("metrics", gauge_payload("k8s.container.memory.limit", "By", [(t, limit)]))]
            for t, used, limit in rows[first:first + count]]


def changed(rows, first: int, count: int) -> list:
    """The same service after its behaviour changed: the leak fixed, memory now swings with a
    batch job every 40 minutes between 30% and 70% of its limit."""
    out = []
    for t, _, limit in rows[first:first + count]:
        used = limit * (0.5 + 0.2 * math.sin(2 * math.pi * t / 2400))
        out.append([("metrics", gauge_payload("process.memory.usage", "By", [(t, used)])),
                    ("metrics", gauge_payload("k8s.container.memory.limit", "By", [(t, limit)]))])
    return out


def ttf(svc, alias="champion"):
    return svc.registry.get_sample_value("foresight_time_to_failure_seconds",
                                         {**IDS, **({"alias": alias} if alias else {}), "quantile": "0.5"})


def score(svc, alias, name):
    return svc.registry.get_sample_value("foresight_model_score", {"predictor": "memory", "alias": alias,
                                                                   "score": name})


def query(stack, promql: str) -> list:
    body = requests.get(f"{stack['prometheus']}/api/v1/query", params={"query": promql}, timeout=10).json()
    return body["data"]["result"]


def alerts(stack) -> list:
    return requests.get(f"{stack['prometheus']}/api/v1/alerts", timeout=10).json()["data"]["alerts"]


def artifacts(url: str, path: str) -> list:
    """Every artifact file under `path`, through the server's artifact proxy."""
    found = []
    listed = requests.get(f"{url}/api/2.0/mlflow-artifacts/artifacts", params={"path": path}).json()
    for item in listed.get("files", []):
        if item["is_dir"]:
            found += [f"{item['path']}/{f}" for f in artifacts(url, f"{path}/{item['path']}")]
        else:
            found.append(item["path"])
    return found


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s")


def test_train_register_promote_warm_start_shadow_drift_and_switch(stack, tmp_path, capsys):
    rows, registry_url = stack["rows"], stack["registry"]
    t0 = rows[0][0]
    # 1. Train: a run with its scores, version 1 aliased challenger.
    assert train(stack, V1, tmp_path / "v1") == 0
    out = capsys.readouterr().out
    assert "registered as version 1 of foresight-memory (alias challenger)" in out
    assert "not trained: log-patterns (logs)" in out
    # 2. The version in MLflow, with its metrics and the challenger alias.
    registry = Registry(registry_url)
    version = registry.version("memory", alias="challenger")
    assert version.number == 1
    # The OOM kills in the window (8 h, 14 h, 20 h and so on after the start) are its known crossings.
    in_window = [f for f in stack["failures"] if t0 + V1[0] < f <= t0 + V1[1]]
    metrics = version.metrics
    assert metrics["known_crossings"] == len(in_window) >= 3
    assert metrics["crossings_warned"] >= 1 and metrics["lead_time_median_seconds"] > 1800
    assert 0 < metrics["forecast_mase_1h"] and 0 < metrics["ttf_p10_p90_coverage"] <= 1
    assert registry.version("memory-anomaly", alias="challenger").metrics["alarm_rate_per_target_day"] >= 0
    run = requests.get(f"{registry_url}/api/2.0/mlflow/runs/get", params={"run_id": version.run_id}).json()["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["window.end"] == format_timestamp(t0 + V1[1]) and params["memory.kind"] == "exhaustion"
    # Nothing in the registry needs pickle: bundles are JSON, the rest a YAML, a JSON and a PNG.
    files = artifacts(registry_url, run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/"))
    assert {f.rsplit(".", 1)[-1] for f in files} == {"json", "jsonl", "png", "yaml"}
    assert "bundles/memory/bundle.json" in files and "bundles/memory/state.jsonl" in files

    # 3. Promote: the scores are printed, the champion moves.
    assert main(["promote", "memory", "--registry", registry_url]) == 0
    out = capsys.readouterr().out
    assert "champion (none)" in out and "known_crossings" in out and "champion -> version 1" in out
    assert registry.champion("memory").number == 1

    # 4. A sidecar from the champion publishes a time to failure on its first new point;
    # one without it needs min_points (10) points of its own first.
    config = load_config(stack["config"])
    svc = Service(config, Settings(listen=stack["sidecar"], registry=registry_url, registry_poll=0.5))
    server = serve(stack["sidecar"], svc.registry, svc.health_status, svc.ready_status)
    assert svc.champions.start(restored=False) == ["memory"]  # memory-anomaly has no champion: it starts blind
    blind = Service(config, Settings(listen=f"127.0.0.1:{free_port()}"))
    try:
        sidecar_story(stack, svc, blind, registry, tmp_path, capsys)
    finally:
        server.shutdown()
        svc.close()
        blind.close()


def sidecar_story(stack, svc, blind, registry, tmp_path, capsys):
    rows, registry_url, t0 = stack["rows"], stack["registry"], stack["rows"][0][0]
    start = LIVE_FROM // 60 + 1  # the history row after the training window
    first = live(rows, start, 3)
    for batch in first:
        svc.handle(batch)
        blind.handle(batch)
    assert ttf(blind, alias=None) is None
    true_ttf = min(f for f in stack["failures"] if f > rows[start][0]) - rows[start + 2][0]
    assert 0.5 * true_ttf < ttf(svc) < 2 * true_ttf
    assert svc.registry.get_sample_value("foresight_model_version", {"predictor": "memory"}) == 1
    memory = svc.engine.predictors[0]
    assert min(memory._first_seen.values()) >= t0 + V1[0]  # its history began with the training window
    at = start + 3

    # 5. A challenger of another config, version 2: it runs in shadow, on the same stream.
    assert train(stack, OTHER, tmp_path / "v2", config=stack["other"]) == 0
    capsys.readouterr()
    wait_for(lambda: svc.champions.apply_pending() == [] and "memory" in svc.models.shadow.running)
    assert svc.models.shadow.running["memory"][1].config.candidates == ("robust-trend",)
    risky = 0
    for batch in live(rows, at, 80):
        svc.handle(batch)
        level = svc.registry.get_sample_value("foresight_risk_level", {**IDS, "alias": "challenger"})
        risky = max(risky, level or 0)
    at += 80
    assert ttf(svc, "challenger") is not None  # its outputs are visible, beside the champion's
    assert score(svc, "challenger", "forecasts_scored") >= 15 and score(svc, "champion", "forecasts_scored") >= 15
    assert score(svc, "challenger", "forecast_mase_1h") > 0 and score(svc, "champion", "forecast_mase_1h") > 0
    assert score(svc, "challenger", "version") == 2
    # Prometheus scrapes both; the generated rules alert on the champion only.
    wait_for(lambda: query(stack, 'foresight_time_to_failure_seconds{alias="challenger",quantile="0.5"}'))
    assert query(stack, 'foresight_model_score{alias="challenger",score="forecasts_scored"}')
    assert not [a for a in alerts(stack) if a["labels"].get("alias") == "challenger"]
    raised = query(stack, 'count by (alias) (max_over_time(ALERTS{alertname="ForesightExhaustionPredicted"}[10m]))')
    assert risky >= 2 and [r["metric"] for r in raised] == [{"alias": "champion"}]  # both at risk; one alerted
    with capsys.disabled():
        print(f"challenger highest risk level in shadow: {risky}")

    # 6. The service's behaviour changes: the champion's forecasts stop holding, drift fires.
    before = {s: svc.registry.get_sample_value("foresight_model_drift", {**IDS, "signal": s})
              for s in ("forecast_error", "coverage")}
    assert before == {"forecast_error": 0, "coverage": 0}  # watched, and quiet while the model holds
    for batch in changed(rows, at, 150):
        svc.handle(batch)
    at += 150
    drift = {s: svc.registry.get_sample_value("foresight_model_drift", {**IDS, "signal": s})
             for s in ("forecast_error", "coverage", "alarm_rate")}
    assert 1 in drift.values(), drift
    with capsys.disabled():
        print(f"drift after the change: {drift}")
    firing = wait_for(lambda: [a for a in alerts(stack) if a["labels"]["alertname"] == "ForesightModelDrift"
                               and a["state"] == "firing"], timeout=60)
    assert firing[0]["labels"]["predictor"] == "memory" and firing[0]["labels"]["severity"] == "info"
    # The trainer reads the drift from Prometheus and retrains at once: version 3, the challenger.
    clock = time.time()
    trainer = Trainer(load_config(stack["other"]), stack["prometheus"], registry_url, history=OTHER[1] - OTHER[0],
                      schedule=Schedule(at=(time.gmtime(clock + 12 * HOUR).tm_hour, 0)))
    assert trainer.drifting() == {"memory"}
    assert trainer.tick(clock, data_end=t0 + OTHER[1]) == {"memory": 3}  # only the predictor that drifts
    assert trainer.tick(clock + 60, data_end=t0 + OTHER[1]) == {}  # its cooldown
    assert registry.version("memory", alias="challenger").number == 3
    wait_for(lambda: svc.champions.apply_pending() == [] and svc.models.shadow.running["memory"][0] == 3)

    # 7. Promote the challenger: the running sidecar switches to it, no restart; its shadow ends.
    assert main(["promote", "memory", "--registry", registry_url]) == 0
    out = capsys.readouterr().out
    assert "champion (version 1)" in out and "champion -> version 3 (was version 1)" in out
    assert wait_for(lambda: svc.champions.apply_pending()) == ["memory"]  # what the run loop calls
    wait_for(lambda: svc.champions.apply_pending() == [] and "memory" not in svc.models.shadow.running)
    for batch in changed(rows, at, 2):
        svc.handle(batch)
    at += 2
    assert svc.registry.get_sample_value("foresight_model_version", {"predictor": "memory"}) == 3
    memory = svc.engine.predictors[0]
    assert memory.config.candidates == ("robust-trend",)  # the promoted version's model config
    assert ttf(svc) is not None and ttf(svc, "challenger") is None
    assert svc.engine.store.windows  # the windows stayed
    assert svc.registry.get_sample_value("foresight_model_drift", {**IDS, "signal": "coverage"}) is None  # anew

    # A Prometheus warm-up after a champion replays only what came after its window: no
    # point twice (they would be dropped as out of order and counted as bad input).
    warm = Service(load_config(stack["config"]), Settings(
        listen=f"127.0.0.1:{free_port()}", registry=registry_url, registry_poll=3600, prometheus_url=stack["prometheus"]))
    try:
        assert warm.champions.start(restored=False) == ["memory"]
        warm.warm_up(t0 + OTHER[1] + 4 * HOUR)  # version 3's window ends at 34 h
        loaded = warm.registry.get_sample_value("foresight_warmup_points_total")
        assert 2 * 4 * 60 <= loaded <= 2 * 4 * 60 + 4  # 4 h of the series and its limit, a point a minute
        assert warm.registry.get_sample_value("foresight_bad_input_total", {"reason": "out_of_order"}) in (None, 0)
    finally:
        warm.close()

    # A tampered version is refused; the sidecar keeps version 3's models.
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "v2" / "bundles" / "memory", tampered)
    state = tampered / "state.jsonl"
    lines = state.read_text().splitlines()
    lines[-1] = lines[-1].replace('"class":"foresight.', '"class":"os:system","x":"foresight.', 1)
    state.write_text("\n".join(lines) + "\n")
    manifest = json.loads((tampered / "bundle.json").read_text())
    manifest["files"]["state.jsonl"] = hashlib.sha256(state.read_bytes()).hexdigest()  # a careful tamperer
    (tampered / "bundle.json").write_text(json.dumps(manifest))
    _, versions = registry.log_training({}, {}, {"memory": tampered}, [])
    registry.promote("memory", versions["memory"])
    wait_for(lambda: svc.champions.refused >= 1)
    assert svc.champions.apply_pending() == []
    assert svc.champions.in_use["memory"] == 3
    svc.handle(changed(rows, at, 1)[0])
    assert ttf(svc) is not None


def test_foresight_run_follows_the_champion_without_a_restart(stack, tmp_path, capsys):
    """The real `foresight run --registry` process, fed through a Kafka API broker (tansu)."""
    from kafka import KafkaProducer

    from foresight_dev.devstack.stack import LocalStack

    rows, registry_url, t0 = stack["rows"], stack["registry"], stack["rows"][0][0]
    config = tmp_path / "live.yaml"  # its own registered models: foresight-live-memory
    config.write_text(CONFIG.replace("name: memory\n", "name: live-memory\n", 1))
    window = (V1[0], V1[1])

    def train_live(output, end):
        return main(["train", "-c", str(config), "--prometheus", stack["prometheus"],
                     "--start", format_timestamp(t0 + window[0]), "--end", format_timestamp(t0 + end),
                     "--registry", registry_url, "--output-dir", str(output)])

    assert train_live(tmp_path / "a", window[1]) == 0
    assert main(["promote", "live-memory", "--registry", registry_url]) == 0
    with LocalStack(tmp_path / "stack", REPO) as local:
        kafka = local.start_kafka(partitions=1)
        url = local.start_predictor(config, extra_args=("--registry", registry_url))
        producer = KafkaProducer(bootstrap_servers=kafka)
        start = window[1] // 60 + 1
        for batch in live(rows, start, 2):
            for _, payload in batch:
                producer.send("otlp_metrics", payload)
        producer.flush()
        ids = {"predictor": "live-memory", "service": "checkout", "service_instance": "checkout-0"}
        wait_for(lambda: scrape(url, "foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"}))
        assert scrape(url, "foresight_model_version", {"predictor": "live-memory"}) == 1
        # A second version, promoted: the sidecar asks every 30 s and switches.
        assert train_live(tmp_path / "b", window[1] - 2 * HOUR) == 0
        assert main(["promote", "live-memory", "--registry", registry_url]) == 0
        wait_for(lambda: scrape(url, "foresight_model_version", {"predictor": "live-memory"}) == 2, timeout=90)
        for batch in live(rows, start + 2, 1):
            for _, payload in batch:
                producer.send("otlp_metrics", payload)
        producer.flush()
        wait_for(lambda: scrape(url, "foresight_last_evaluation_timestamp_seconds", ids) == rows[start + 2][0])
        assert scrape(url, "foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"}) is not None
        producer.close()
        log = (tmp_path / "stack" / "predictor.log").read_text()
        assert "predictor live-memory now runs version 2 of foresight-live-memory (was version 1)" in log


def scrape(url: str, name: str, labels: dict):
    """One sample of the sidecar's /metrics, or None."""
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(f"{url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return None
