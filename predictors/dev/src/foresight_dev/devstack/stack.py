"""The local stack: each part started on free ports, wired together, stopped in reverse."""
import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from foresight.contracts.durations import format_duration, parse_duration

from .processes import Process, StackError, find_binary, free_port, python_script

TOPICS = ("otlp_metrics", "otlp_logs", "otlp_traces")


def scale_rule_for(rules: dict, speed: float, minimum: float = 2.0) -> dict:
    """Alert `for:` durations mean data time; at `speed` times real time they shrink."""
    for group in rules.get("groups", []):
        for rule in group.get("rules", []):
            if "for" in rule:
                rule["for"] = format_duration(max(minimum, round(parse_duration(rule["for"]) / speed)))
    return rules


def local_alertmanager_config(source: dict, webhook_url: str, group_wait: str = "1s") -> dict:
    """The repo's routing tree and inhibitions, with every receiver sent to a local webhook."""
    config = dict(source)
    config.pop("templates", None)
    config["global"] = {"resolve_timeout": "5m"}
    config["receivers"] = [{"name": r["name"], "webhook_configs": [{"url": f"{webhook_url}/{r['name']}",
                                                                     "send_resolved": False}]}
                           for r in source.get("receivers", [])]
    config["route"] = _fast_route(config.get("route", {}), group_wait)
    return config


def _fast_route(route: dict, group_wait: str) -> dict:
    """The route and every sub-route with short waits: at demo speed, minutes are hours."""
    fast = dict(route, group_wait=group_wait, group_interval="5s")
    if "routes" in route:
        fast["routes"] = [_fast_route(r, group_wait) for r in route["routes"]]
    return fast


class WebhookReceiver:
    """Captures Alertmanager webhook notifications: receiver name -> payload, in arrival order."""

    def __init__(self):
        self.received: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    received.put((self.path.strip("/"), json.loads(body)))
                    self.send_response(200)
                except ValueError:
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class LocalStack:
    """Start parts with the methods below; `stop()` (or leaving the `with`) ends them all."""

    def __init__(self, workdir: Path, repo_dir: Path):
        self.workdir, self.repo_dir = Path(workdir), Path(repo_dir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.processes: list[Process] = []
        self.webhook: WebhookReceiver | None = None
        self.urls: dict[str, str] = {}
        # Chosen up front so Prometheus can be told where to scrape before the sidecar starts.
        self.urls["predictor"] = f"http://127.0.0.1:{free_port()}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _start(self, name, argv, env=None) -> Process:
        proc = Process(name, argv, self.workdir, env)
        self.processes.append(proc)
        return proc

    def stop(self):
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        if self.webhook:
            self.webhook.stop()
            self.webhook = None

    def start_kafka(self, partitions: int = 3) -> str:
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        proc = self._start("kafka", [find_binary("tansu"), "broker", "--listener-url", url,
                                     "--advertised-listener-url", url])
        proc.wait_tcp(port)
        self.urls["kafka"] = f"127.0.0.1:{port}"
        self._create_topics(partitions)
        return self.urls["kafka"]

    def _create_topics(self, partitions: int):
        from kafka.admin import KafkaAdminClient, NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = KafkaAdminClient(bootstrap_servers=self.urls["kafka"], client_id="foresight-devstack")
        try:
            admin.create_topics([NewTopic(t, partitions, 1) for t in TOPICS])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()

    def part(self, name: str) -> Process:
        """The running part started as `name` (kafka, collector, predictor, prometheus, alertmanager)."""
        return next(proc for proc in self.processes if proc.name == name)

    def restart_kafka(self, down: float = 0.0, partitions: int = 3):
        """Stop the broker and start it again on its port. It keeps its log in memory, so the
        topics come back empty, with new ids, and the groups' committed offsets are gone."""
        proc = self.part("kafka")
        proc.restart(down)
        proc.wait_tcp(int(self.urls["kafka"].rsplit(":", 1)[1]))
        self._create_topics(partitions)

    def start_collector(self) -> str:
        grpc_port, http_port = free_port(), free_port()
        proc = self._start("collector", [
            find_binary("rotel"), "start",
            "--otlp-grpc-endpoint", f"127.0.0.1:{grpc_port}", "--otlp-http-endpoint", f"127.0.0.1:{http_port}",
            "--exporter", "kafka", "--kafka-exporter-brokers", self.urls["kafka"],
            "--batch-timeout", "100ms", "--pid-file", str(self.workdir / "rotel.pid"),
            # Merged batches (counted in data points) must stay under the broker's 1 MB
            # message limit: a history blast arrives faster than the batch timeout, and
            # loadgen's 5-minute requests hold about 600 points of 180 bytes each.
            "--metrics-batch-max-size", "4000",
            # One message per resource, keyed by a hash of its attributes, as the compose
            # collector does: a service instance's metrics and logs stay on one partition.
            # rotel cannot key traces (they go to a random partition per batch).
            "--kafka-exporter-partition-metrics-by-resource-attributes",
            "--kafka-exporter-partition-logs-by-resource-attributes",
        ])
        proc.wait_tcp(http_port)
        self.urls["otlp_http"] = f"http://127.0.0.1:{http_port}"
        self.urls["otlp_grpc"] = f"127.0.0.1:{grpc_port}"
        return self.urls["otlp_http"]

    def start_predictor(self, config_path: Path, prometheus_url: str = "", extra_args=()) -> str:
        listen = self.urls["predictor"].split("//")[1]
        proc = self._start("predictor", [
            python_script("foresight"), "run", "-c", str(config_path), "--listen", listen,
            "--kafka-bootstrap", self.urls["kafka"], "--prometheus-url", prometheus_url,
            "--consumer-group", "foresight-demo", *extra_args])
        proc.wait_http(self.urls["predictor"] + "/readyz", timeout=60)
        return self.urls["predictor"]

    def start_alertmanager(self, group_wait: str = "1s") -> str:
        self.webhook = WebhookReceiver()
        source = yaml.safe_load((self.repo_dir / "alertmanager" / "alertmanager.yml").read_text())
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(yaml.safe_dump(local_alertmanager_config(source, self.webhook.url, group_wait)))
        port = free_port()
        proc = self._start("alertmanager", [
            find_binary("prometheus-alertmanager"), f"--config.file={config_path}",
            f"--storage.path={self.workdir / 'alertmanager-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="])
        self.urls["alertmanager"] = f"http://127.0.0.1:{port}"
        proc.wait_http(self.urls["alertmanager"] + "/-/ready")
        return self.urls["alertmanager"]

    def start_prometheus(self, speed: float = 1.0, interval: str = "1s", extra_args=()) -> str:
        """Scrape the predictor, load the repo's rules (`for:` scaled by speed), alert Alertmanager."""
        rules_dir = self.workdir / "rules"
        rules_dir.mkdir(exist_ok=True)
        for path in sorted((self.repo_dir / "prometheus" / "rules").glob("*.yml")):
            rules = scale_rule_for(yaml.safe_load(path.read_text()), speed)
            (rules_dir / path.name).write_text(yaml.safe_dump(rules, sort_keys=False))
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(rules_dir / "*.yml")],
            "scrape_configs": [{"job_name": "foresight",
                                "static_configs": [{"targets": [self.urls["predictor"].split("//")[1]]}]}],
        }
        if "alertmanager" in self.urls:
            config["alerting"] = {"alertmanagers": [{"static_configs": [
                {"targets": [self.urls["alertmanager"].split("//")[1]]}]}]}
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        port = free_port()
        proc = self._start("prometheus", [
            find_binary("prometheus"), f"--config.file={config_path}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}", f"--web.listen-address=127.0.0.1:{port}",
            *extra_args])
        self.urls["prometheus"] = f"http://127.0.0.1:{port}"
        proc.wait_http(self.urls["prometheus"] + "/-/ready", timeout=60)
        return self.urls["prometheus"]

    def check_alive(self):
        for proc in self.processes:
            if not proc.alive():
                raise StackError(f"{proc.name} stopped unexpectedly (code {proc.proc.returncode}, log "
                                 f"{proc.log_path}):\n{proc.log_tail()}")


__all__ = ["LocalStack", "StackError", "WebhookReceiver", "local_alertmanager_config", "scale_rule_for"]
