"""Restarts of the real Prometheus (2.42) and Alertmanager (0.25) under firing Foresight alerts.

Prometheus scrapes a stand-in for the sidecar's /metrics (a fixed `foresight_risk_level`
per target, which the test changes) and evaluates the repo's generated rules, their `for:`
shortened (LocalStack.start_prometheus, `speed`) so that a test takes seconds:
- Prometheus restarted on its TSDB brings a firing alert back as firing, with its first
  activeAt, from the ALERTS_FOR_STATE series. It does so only for rules whose `for:` is at
  least `--rules.alert.for-grace-period` (10m by default, longer than our 2m and 5m), hence
  that flag in docker-compose.yml; without it the alert starts pending from zero, which the
  second Prometheus here shows.
- Alertmanager restarted on its --storage.path (the notification log and silences are
  kept there): the alert it paged for before is not paged again, an alert that started
  firing while it was down is paged once it is back, and a silence still holds.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest
import requests
import yaml
from capture_servers import drain, serve_http, stop_http
from stack_helpers import REPO

from foresight.contracts.durations import parse_duration
from foresight_dev.devstack.stack import LocalStack

pytestmark = pytest.mark.integration

ALERT = "ForesightExhaustionPredicted"
# The `for:` durations are divided by this: the warning and critical rules' 5m become 20 s.
SPEED = 15
GRACE = "5s"  # what docker-compose.yml's 1m is to the real 2m and 5m: shorter than every `for:`


class FakeSidecar:
    """Serves `foresight_risk_level` for the targets in `levels` ((service, instance) -> level)."""

    def __init__(self):
        self.levels: dict[tuple[str, str], int] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = "".join(
                    f'foresight_risk_level{{predictor="memory",service="{s}",service_instance="{i}"}} {level}\n'
                    for (s, i), level in sorted(fake.levels.items())).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server, self.url = serve_http(Handler)

    def stop(self):
        stop_http(self.server)


def alerts(prometheus: str, service: str) -> list[dict]:
    """Prometheus's pending and firing instances of ALERT for a service."""
    data = requests.get(prometheus + "/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return [a for a in data if a["labels"].get("alertname") == ALERT and a["labels"].get("service") == service]


def wait_state(prometheus: str, service: str, state: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [a for a in alerts(prometheus, service) if a["state"] == state]
        if found:
            return found[0]
        time.sleep(0.25)
    raise AssertionError(f"{ALERT} for {service} not {state} within {timeout:.0f}s: {alerts(prometheus, service)}")


def states_after_restart(servers: dict, service: str, seconds: float) -> dict:
    """name -> [(seconds since sampling began, state, activeAt)] of the service's alert on each
    Prometheus (name -> URL), sampled together for `seconds`."""
    started, seen = time.monotonic(), {name: [] for name in servers}
    while time.monotonic() - started < seconds:
        for name, url in servers.items():
            for a in alerts(url, service):
                seen[name].append((time.monotonic() - started, a["state"], a["activeAt"]))
        time.sleep(0.25)
    return seen


def seconds(timestamp: str) -> int:
    """An RFC 3339 activeAt to whole seconds (the restored one has no fraction)."""
    return int(datetime.fromisoformat(timestamp[:19]).replace(tzinfo=timezone.utc).timestamp())


@pytest.fixture(scope="module")
def prometheus_restart(tmp_path_factory):
    """Two Prometheus servers on one stand-in: with the grace period below `for:`, and with
    the default. Each restarted on its TSDB once the alert fires."""
    sidecar = FakeSidecar()
    sidecar.levels[("checkout", "checkout-0")] = 2  # warning: `for: 5m`, here 20 s
    stacks = {"grace": LocalStack(tmp_path_factory.mktemp("prom-grace"), REPO),
              "default": LocalStack(tmp_path_factory.mktemp("prom-default"), REPO)}
    try:
        for name, stack in stacks.items():
            stack.urls["predictor"] = sidecar.url
            extra = [f"--rules.alert.for-grace-period={GRACE}"] if name == "grace" else []
            stack.start_prometheus(speed=SPEED, interval="1s", extra_args=extra)
        before = {name: wait_state(stack.urls["prometheus"], "checkout", "firing", timeout=60)
                  for name, stack in stacks.items()}
        time.sleep(2)  # a few more ALERTS_FOR_STATE samples
        for stack in stacks.values():
            stack.part("prometheus").restart()
        for stack in stacks.values():
            stack.part("prometheus").wait_http(stack.urls["prometheus"] + "/-/ready", timeout=60)
        # 12 s: past the restore (after the second evaluation), well short of `for:` (20 s).
        after = states_after_restart({name: stack.urls["prometheus"] for name, stack in stacks.items()},
                                     "checkout", 12)
        yield {name: {"before": before[name], "after": after[name]} for name in stacks}
    finally:
        for stack in stacks.values():
            stack.stop()
        sidecar.stop()


def test_a_firing_alert_is_firing_again_after_a_restart_with_its_first_active_time(prometheus_restart):
    run = prometheus_restart["grace"]
    after = run["after"]
    firing = [s for s in after if s[1] == "firing"]
    assert firing, f"not firing again within 12 s of the restart: {after[-3:]}"
    assert firing[0][0] < 8, f"firing again only after {firing[0][0]:.1f}s"
    print(f"firing again {firing[0][0]:.1f}s after Prometheus was ready")  # shown with -rA
    # Restored, not started again: the same activeAt as before the restart.
    assert {seconds(s[2]) for s in firing} == {seconds(run["before"]["activeAt"])}, (run["before"], firing[:3])


def test_without_the_grace_period_flag_it_starts_pending_from_zero(prometheus_restart):
    """Why docker-compose.yml sets --rules.alert.for-grace-period: the default drops the state."""
    run = prometheus_restart["default"]
    states = {s[1] for s in run["after"]}
    assert states and "firing" not in states, run["after"][-3:]
    assert all(seconds(s[2]) > seconds(run["before"]["activeAt"]) for s in run["after"])


def test_compose_grace_period_is_shorter_than_every_for():
    """Else the rules with a shorter `for:` lose their state at each restart, as above."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    flags = dict(arg.split("=", 1) for arg in compose["services"]["prometheus"]["command"] if "=" in arg)
    grace = parse_duration(flags["--rules.alert.for-grace-period"])
    durations = [parse_duration(rule["for"]) for path in sorted((REPO / "prometheus" / "rules").glob("*.yml"))
                 for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
                 for rule in group["rules"] if "for" in rule]
    assert durations and grace <= min(durations), (grace, min(durations))


def silence(alertmanager: str, service: str) -> str:
    now = datetime.now(timezone.utc)
    body = {"matchers": [{"name": "service", "value": service, "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(), "endsAt": (now + timedelta(hours=1)).isoformat(),
            "createdBy": "test_faults_servers", "comment": "maintenance"}
    response = requests.post(alertmanager + "/api/v2/silences", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["silenceID"]


def pages(received: list, service: str) -> list:
    """The PagerDuty-route notifications (critical) that name the service's alert."""
    return [body for path, body in received if path == "pagerduty"
            and any(a["labels"].get("service") == service for a in body["alerts"])]


@pytest.fixture(scope="module")
def alertmanager_restart(tmp_path_factory):
    """Two Alertmanagers, each behind its own Prometheus on one stand-in: one restarted on its
    storage, one restarted with its storage wiped (what the first must not do).

    checkout pages before the restart; payments is silenced; orders starts firing while
    Alertmanager is down."""
    sidecar = FakeSidecar()
    sidecar.levels[("checkout", "checkout-0")] = 3  # critical: `for: 5m`, here 20 s
    sidecar.levels[("payments", "payments-0")] = 3
    stacks = {"kept": LocalStack(tmp_path_factory.mktemp("am-kept"), REPO),
              "wiped": LocalStack(tmp_path_factory.mktemp("am-wiped"), REPO)}
    received = {name: [] for name in stacks}
    try:
        silences = {}
        for name, stack in stacks.items():
            stack.urls["predictor"] = sidecar.url
            stack.start_alertmanager(group_wait="1s")
            silences[name] = silence(stack.urls["alertmanager"], "payments")
            # Firing alerts re-sent every 2 s (1m by default): what Alertmanager missed while
            # down reaches it soon after it is back, and so does the one it paged for.
            stack.start_prometheus(speed=SPEED, interval="1s",
                                   extra_args=[f"--rules.alert.for-grace-period={GRACE}",
                                               "--rules.alert.resend-delay=2s"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(pages(received[n], "checkout") for n in stacks):
            for name, stack in stacks.items():
                received[name] += drain(stack.webhook.received, settle=0.2)
        for name, stack in stacks.items():  # three group intervals (5 s): no second page
            received[name] += drain(stack.webhook.received, settle=15 if name == "kept" else 0.1)
        before = {name: len(received[name]) for name in stacks}
        for name, stack in stacks.items():
            stack.part("alertmanager").stop()
            if name == "wiped":
                shutil.rmtree(stack.workdir / "alertmanager-data")
        sidecar.levels[("orders", "orders-0")] = 3
        for stack in stacks.values():  # orders fires (8 s) while Alertmanager is down
            wait_state(stack.urls["prometheus"], "orders", "firing", timeout=30)
        time.sleep(3)  # and Prometheus fails to send it
        for stack in stacks.values():
            stack.part("alertmanager").restart()
        for stack in stacks.values():
            stack.part("alertmanager").wait_http(stack.urls["alertmanager"] + "/-/ready")
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and not all(pages(received[n], "orders") for n in stacks):
            for name, stack in stacks.items():
                received[name] += drain(stack.webhook.received, settle=0.2)
        for name, stack in stacks.items():  # three group intervals more: anything doubled shows
            received[name] += drain(stack.webhook.received, settle=15 if name == "kept" else 0.1)
        kept_silences = requests.get(stacks["kept"].urls["alertmanager"] + "/api/v2/silences", timeout=5).json()
        yield {"received": received, "before": before, "silence": silences["kept"], "silences": kept_silences}
    finally:
        for stack in stacks.values():
            stack.stop()
        sidecar.stop()


def test_alertmanager_paged_once_before_the_restart(alertmanager_restart):
    received = alertmanager_restart["received"]["kept"][:alertmanager_restart["before"]["kept"]]
    assert len(pages(received, "checkout")) == 1, received
    assert not pages(received, "payments")


def test_no_second_page_after_a_restart_on_its_storage(alertmanager_restart):
    received = alertmanager_restart["received"]["kept"]
    assert len(pages(received, "checkout")) == 1, [b["alerts"][0]["labels"]["service"] for _, b in received]


def test_an_alert_that_fired_while_it_was_down_is_paged_once_it_is_back(alertmanager_restart):
    received = alertmanager_restart["received"]["kept"]
    assert len(pages(received, "orders")) == 1, [b["alerts"][0]["labels"]["service"] for _, b in received]


def test_a_silence_holds_across_the_restart(alertmanager_restart):
    assert not pages(alertmanager_restart["received"]["kept"], "payments")
    states = {s["id"]: s["status"]["state"] for s in alertmanager_restart["silences"]}
    assert states.get(alertmanager_restart["silence"]) == "active", states


def test_with_its_storage_wiped_it_pages_again(alertmanager_restart):
    """What the storage prevents: without its notification log, the restarted Alertmanager
    pages for checkout a second time (and for the no longer silenced payments)."""
    received = alertmanager_restart["received"]["wiped"]
    assert len(pages(received, "checkout")) == 2, [b["alerts"][0]["labels"]["service"] for _, b in received]
    assert pages(received, "payments")
