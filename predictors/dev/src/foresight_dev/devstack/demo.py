"""`foresight demo` (`make demo`): the whole path on this machine, from telemetry to a
predicted-failure notification, with a loadgen scenario played at high speed."""
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from foresight.config import load_config
from foresight.contracts.durations import humanize_hours
from foresight.predictors.registry import build_predictor

from .processes import StackError, python_script
from .stack import LocalStack


def _sim(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def event_time(predictor_url: str) -> float | None:
    """The sidecar's event-time watermark: the simulated 'now' of the data it has seen."""
    try:
        text = requests.get(predictor_url + "/metrics", timeout=2).text
    except requests.RequestException:
        return None
    for family in text_string_to_metric_families(text):
        if family.name == "foresight_event_time_seconds":
            return family.samples[0].value
    return None


def daily_profiles(predictor_url: str) -> dict:
    """predictor -> days each of its targets' daily profile was fitted on (0: none), from /metrics."""
    try:
        text = requests.get(predictor_url + "/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    found: dict = {}
    for family in text_string_to_metric_families(text):
        if family.name == "foresight_daily_profile_days":
            for sample in family.samples:
                found.setdefault(sample.labels.get("predictor", ""), []).append(int(sample.value))
    return found


def format_notification(receiver: str, payload: dict) -> str:
    lines = [f"--- notification to '{receiver}' ({payload.get('status')}, {len(payload.get('alerts', []))} alert(s))"]
    for alert in payload.get("alerts", []):
        labels, notes = alert.get("labels", {}), alert.get("annotations", {})
        lines.append(f"[{labels.get('severity', '?').upper()}] {labels.get('alertname')} "
                     f"predictor={labels.get('predictor', '')} service={labels.get('service', '')}")
        for key in ("summary", "description", "runbook_url"):
            if notes.get(key):
                lines.append(textwrap.indent(textwrap.fill(notes[key], 100), "  "))
    return "\n".join(lines)


class Demo:
    """Runs the stack and one loadgen scenario; collects notifications and failures."""

    def __init__(self, scenario: str, speed: float, workdir: Path, repo_dir: Path, config_path: Path | None = None,
                 out=sys.stdout, seed: int = 1):
        self.scenario, self.speed, self.out, self.seed = scenario, speed, out, seed
        self.history = "2d"
        # The compose stack's predictor config is the demo's default too.
        self.config_path = config_path or repo_dir / "predictors" / "config" / "predictors.yaml"
        self.stack = LocalStack(workdir, repo_dir)
        self.notifications: list[tuple[float | None, str, dict]] = []  # (sim time, receiver, payload)
        self.failures: list[dict] = []
        self.scenario_start: float | None = None  # sim time the scenario starts; the healthy history is before
        self.loadgen: subprocess.Popen | None = None

    def say(self, text: str):
        print(text, file=self.out, flush=True)

    def start(self):
        s = self.stack
        self.say("Starting the local stack (real servers on free ports)...")
        # One partition per topic: the demo runs one sidecar, rotel keys metrics and logs by
        # resource (start_collector) but cannot key traces, and across partitions the
        # history burst would arrive out of event-time order. Replicas on keyed partitions:
        # `loadgen run --kafka-bootstrap` (the collector's keys, traces by trace id).
        s.start_kafka(partitions=1)
        s.start_collector()
        s.start_alertmanager()
        s.start_prometheus(speed=self.speed)
        s.start_predictor(self.config_path, prometheus_url=s.urls["prometheus"])
        self.say(textwrap.dedent(f"""\
            Listening:
              Prometheus     {s.urls['prometheus']}  (try: foresight_time_to_failure_seconds)
              Alertmanager   {s.urls['alertmanager']}
              Predictor      {s.urls['predictor']}/metrics
              OTLP (HTTP)    {s.urls['otlp_http']}
              Kafka API      {s.urls['kafka']}
            Logs and data in {s.workdir}"""))

    def play(self, duration: str = "12h", stop_after_failure: float = 3600.0, timeout: float = 600.0) -> int:
        """Play the scenario; return once it ends, `stop_after_failure` sim-seconds after a failure."""
        # Two healthy days first, sent as fast as possible: a predictor that has watched a
        # service for days (in production, warmed from Prometheus) knows its normal cycle.
        argv = [python_script("loadgen"), "run", self.scenario, "--endpoint", self.stack.urls["otlp_http"],
                "--history", self.history, "--speed", str(self.speed), "--duration", duration, "--seed", str(self.seed),
                "--json"]
        self.say(f"Playing loadgen scenario '{self.scenario}' (seed {self.seed}) at {self.speed:g}x real time...")
        self.loadgen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._watch_notifications, daemon=True).start()
        deadline = time.monotonic() + timeout
        stop_at = None
        for line in self.loadgen.stdout:
            event = self._parse(line)
            if event.get("event") == "start":
                self.scenario_start = event.get("sim_time")
            elif event.get("event") == "failure":
                self.failures.append(event)
                self.say(f"*** simulated failure at {_sim(event['sim_time'])}: {event.get('service')} "
                         f"{event.get('resource')} reached its limit")
                stop_at = stop_at or event["sim_time"] + stop_after_failure
            elif event.get("event") == "progress" and stop_at and event["sim_time"] >= stop_at:
                break
            if time.monotonic() > deadline:
                self.say(f"demo timed out after {timeout:.0f}s")
                break
            self.stack.check_alive()
        self._stop_loadgen()
        time.sleep(2)  # let the last notifications arrive
        return self.summary()

    @staticmethod
    def _parse(line: str) -> dict:
        try:
            return json.loads(line)
        except ValueError:
            return {}

    def _watch_notifications(self):
        while self.stack.webhook is not None:
            try:
                receiver, payload = self.stack.webhook.received.get(timeout=0.5)
            except Exception:
                continue
            sim_now = event_time(self.stack.urls["predictor"])
            self.notifications.append((sim_now, receiver, payload))
            when = f" at simulated {_sim(sim_now)}" if sim_now else ""
            self.say(f"\n{format_notification(receiver, payload)}\n  (delivered{when})\n")

    def _stop_loadgen(self):
        if self.loadgen and self.loadgen.poll() is None:
            self.loadgen.send_signal(signal.SIGINT)
            try:
                self.loadgen.wait(10)
            except subprocess.TimeoutExpired:
                self.loadgen.kill()

    def first_alert_lead(self) -> float | None:
        """Seconds of simulated time between the first failure and the first firing prediction
        for its service in the 24 h before it (pipeline and lifecycle alerts, which have no
        `foresight_target`, and other services do not count)."""
        if not self.failures:
            return None
        failure = self.failures[0]
        firing = [t for t, _, p in self.notifications
                  if t is not None and p.get("status") == "firing"
                  and failure["sim_time"] - 86400 <= t <= failure["sim_time"]
                  and any(a.get("labels", {}).get("foresight_target")
                          and a["labels"].get("service") in (None, failure.get("service"))
                          for a in p.get("alerts", []))]
        if not firing:
            return None
        return failure["sim_time"] - min(firing)

    def healthy_anomaly_alerts(self) -> list[dict]:
        """Anomaly alerts delivered firing while the sidecar was still in the healthy history:
        every one of them is false."""
        if self.scenario_start is None:
            return []
        return [a for t, _, p in self.notifications
                if t is not None and t < self.scenario_start and p.get("status") == "firing"
                for a in p.get("alerts", []) if a.get("labels", {}).get("kind") in ("anomaly", "logs")]

    def watched(self, failure: dict) -> bool:
        """Whether some configured predictor reads the metric that failed."""
        config = load_config(self.config_path)
        return any(s.metric == failure.get("metric") for p in config.predictors for s in build_predictor(p).selectors())

    def collector_errors(self) -> list[str]:
        """Lines where the collector reported an export it could not deliver (data lost)."""
        log_file = self.stack.workdir / "collector.log"
        if not log_file.exists():
            return []
        return [line for line in log_file.read_text(errors="replace").splitlines() if "ERROR" in line]

    def summary(self) -> int:
        firing = [n for n in self.notifications if n[2].get("status") == "firing"]
        self.say(f"Summary: {len(firing)} firing notification(s), {len(self.failures)} simulated failure(s).")
        if self.scenario_start is not None:
            false = self.healthy_anomaly_alerts()
            self.say(f"Anomaly alerts during the {self.history} of healthy history: {len(false)}"
                     + (" (" + "; ".join(f"{a['labels'].get('predictor')} on {a['labels'].get('service')}"
                                         for a in false) + ")" if false else ""))
        profiles = daily_profiles(self.stack.urls.get("predictor", ""))
        if profiles:
            self.say("Daily profiles: " + "; ".join(
                f"{name}: {sum(1 for d in days if d)} of {len(days)} target(s) fitted"
                + (f" (on {max(days)} days of history)" if any(days) else "")
                for name, days in sorted(profiles.items())))
        lost = self.collector_errors()
        if lost:
            self.say(f"Warning: the collector failed {len(lost)} export(s), so the sidecar missed data "
                     f"(see {self.stack.workdir / 'collector.log'}); the first: {lost[0][-200:]}")
        if not self.failures:
            return 0
        failure = self.failures[0]
        lead = self.first_alert_lead()
        if lead is not None:
            self.say(f"Lead time: the first prediction for {failure.get('service', 'the service')} came "
                     f"{humanize_hours(lead)} (simulated) before its failure.")
            return 0
        if not self.watched(failure):
            self.say(f"No predictor in {self.config_path} watches {failure.get('metric')}, "
                     "so no notification was expected for this scenario.")
            return 0
        self.say(f"No prediction for {failure.get('service', 'the service')} arrived before its failure.")
        return 1

    def stop(self):
        self._stop_loadgen()
        self.stack.stop()


def run_demo(scenario: str, speed: float, workdir: str | None = None, repo_dir: str = ".", seed: int = 1) -> int:
    repo = Path(repo_dir).resolve()
    if not (repo / "prometheus" / "rules").is_dir():
        print(f"error: {repo} is not the Foresight repository root (no prometheus/rules); run from there",
              file=sys.stderr)
        return 2
    tmp = None
    if workdir is None:
        tmp = workdir = tempfile.mkdtemp(prefix="foresight-demo-")
    demo = Demo(scenario, speed, Path(workdir), repo, seed=seed)
    started = time.monotonic()
    try:
        demo.start()
        code = demo.play()
        demo.say(f"Demo finished in {time.monotonic() - started:.0f}s.")
        return code
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        demo.say("\nInterrupted; stopping everything.")
        return 130
    finally:
        demo.stop()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
