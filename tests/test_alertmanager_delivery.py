"""The real Alertmanager (Debian package `prometheus-alertmanager`) with the repo's config,
routes, inhibitions and templates, delivering to local capture servers: an HTTP server
standing in for Slack and PagerDuty (Events API v2), and an SMTP server for the email digest.

The config is the repo file with only these changes: secrets, placeholders, the PagerDuty
URL and SMTP host point at the capture servers (no TLS there), and every route waits 1s
instead of its group_wait/group_interval so the test takes seconds. The alerts posted are
the labels and annotations the generated rules produce: they are read from the promtool
test of those rules (prometheus/tests/foresight.rules.test.yml), which checks them.
"""

from __future__ import annotations

import copy

import pytest
import requests
import yaml
from capture_servers import HTTPCapture, SMTPCapture, drain, wait_for
from stack_helpers import REPO

from foresight_dev.devstack.processes import Process, StackError, find_binary, free_port

pytestmark = pytest.mark.integration

ROUTING_KEY = "test-routing-key-0123"
SMTP_TO = "oncall@foresight.test"


def rule_test_alerts() -> list:
    """(labels, annotations) of every alert the promtool test of the generated rules expects."""
    doc = yaml.safe_load((REPO / "prometheus/tests/foresight.rules.test.yml").read_text(encoding="utf-8"))
    out = []
    for case in doc["tests"]:
        for check in case["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                labels = {"alertname": check["alertname"], **alert["exp_labels"]}
                out.append((labels, alert["exp_annotations"]))
    return out


# Labels the rules add or the join brings, which are not the target's (generate/rules.py).
NOT_TARGET = {"alertname", "severity", "kind", "resource", "foresight_target", "incident", "root_cause", "job",
              "instance"}


def target_id(labels: dict) -> str:
    """The rules' `foresight_target` label for a target with these labels."""
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k not in NOT_TARGET)


def predicted(predictor: str, severity: str, **labels) -> dict:
    """An alert as the rules fire it, taken from the rule test, moved to other labels."""
    for rule_labels, rule_annotations in rule_test_alerts():
        if rule_labels["predictor"] == predictor and "?" not in rule_annotations["summary"]:
            old_service = rule_labels["service"]
            new = {**rule_labels, "severity": severity, **labels}
            for key in [k for k, v in labels.items() if v is None]:
                new.pop(key)
            ann = {k: v.replace(old_service, new["service"]) for k, v in rule_annotations.items()}
            new["foresight_target"] = target_id(new)
            return {"labels": new, "annotations": ann}
    raise AssertionError(f"the rule test has no complete alert for predictor {predictor}")


def local_config(tmp, http_url: str, smtp_port: int):
    text = (REPO / "alertmanager/alertmanager.yml").read_text(encoding="utf-8")
    secrets = {"slack_webhook_url": f"{http_url}/slack", "pagerduty_routing_key": ROUTING_KEY,
               "smtp_auth_password": "not-used-without-auth"}
    for name, value in secrets.items():
        (tmp / name).write_text(value + "\n", encoding="utf-8")
    text = text.replace("/run/secrets/", f"{tmp}/")
    text = text.replace("/etc/alertmanager/templates/", f"{REPO}/alertmanager/templates/")
    for placeholder, value in {"__SLACK_CHANNEL__": "#foresight-test", "__SMTP_SMARTHOST__": f"127.0.0.1:{smtp_port}",
                               "__SMTP_FROM__": "foresight@foresight.test", "__SMTP_TO__": SMTP_TO,
                               "__SMTP_AUTH_USERNAME__": "foresight"}.items():
        text = text.replace(placeholder, value)
    cfg = yaml.safe_load(text)
    cfg["global"]["smtp_require_tls"] = False
    for receiver in cfg["receivers"]:
        for pd in receiver.get("pagerduty_configs", []):
            pd["url"] = f"{http_url}/pagerduty"

    def fast(route):
        for key in ("group_wait", "group_interval"):
            if key in route or route is cfg["route"]:
                route[key] = "1s"
        for child in route.get("routes", []):
            fast(child)
    fast(cfg["route"])
    path = tmp / "alertmanager.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


# The scenario, posted in one request:
CRITICAL = predicted("memory", "critical")  # checkout/checkout-1, incident inc-7
INHIBITED_WARNING = predicted("memory", "warning")  # same target: muted by CRITICAL
INCIDENT_ORDERS = predicted("db-pool", "warning", service="orders", incident="inc-9", root_cause="orders")
INCIDENT_PAYMENTS = predicted("memory", "warning", service="payments", service_instance="payments-1",
                              incident="inc-9", root_cause="orders")
LONE_WARNING = predicted("db-pool", "warning", service="catalog")
INFO_PREDICTION = predicted("db-pool", "info", service="search")
INFO_PIPELINE = {
    "labels": {"alertname": "ForesightBadInputHigh", "severity": "info", "job": "foresight",
               "instance": "predictors:9464"},
    "annotations": {
        "summary": "Foresight predictor predictors:9464 drops 3 inputs/s",
        "description": "predictors:9464 has dropped more than 1 input per second for 10 minutes.",
        "runbook_url": "https://github.com/foresight-sre/foresight/blob/main/docs/runbooks.md#foresightbadinputhigh",
    },
}
ALERTS = [CRITICAL, INHIBITED_WARNING, INCIDENT_ORDERS, INCIDENT_PAYMENTS, LONE_WARNING, INFO_PREDICTION,
          INFO_PIPELINE]
EXPECTED = {"slack": 3, "pagerduty": 1, "email": 1}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("am-delivery")
    http, smtp = HTTPCapture(), SMTPCapture()
    config = local_config(tmp, http.url, smtp.port)
    port = free_port()
    try:
        binary = find_binary("prometheus-alertmanager")
    except StackError as exc:
        pytest.fail(str(exc), pytrace=False)
    am = Process("alertmanager", [binary, f"--config.file={config}", f"--storage.path={tmp / 'data'}",
                                  f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                                  "--web.external-url=http://alertmanager.foresight.test:9093"], tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        am.wait_http(url + "/-/ready")
        body = [{**copy.deepcopy(a), "generatorURL": "http://prometheus:9090/graph"} for a in ALERTS]
        response = requests.post(url + "/api/v2/alerts", json=body, timeout=5)
        assert response.status_code == 200, response.text
        posts = wait_for(http.posts, EXPECTED["slack"] + EXPECTED["pagerduty"], timeout=30)
        mails = wait_for(smtp.messages, EXPECTED["email"], timeout=30)
        # Anything more (a notification that grouping or inhibition should have prevented)
        # would arrive within a few group intervals.
        posts += drain(http.posts, settle=3)
        mails += drain(smtp.messages, settle=0.5)
        alerts = requests.get(url + "/api/v2/alerts", timeout=5).json()
        yield {
            "slack": [body for path, body in posts if path == "/slack"],
            "pagerduty": [body for path, body in posts if path == "/pagerduty"],
            "other_paths": [path for path, _ in posts if path not in ("/slack", "/pagerduty")],
            "email": mails, "envelopes": smtp.envelopes, "alerts": alerts, "log": am.log_tail(40),
        }
    finally:
        am.stop()
        http.stop()
        smtp.stop()


def test_one_notification_per_group_and_receiver(delivered):
    counts = {k: len(delivered[k]) for k in EXPECTED}
    assert counts == EXPECTED, f"{counts}\n{delivered['log']}"
    assert delivered["other_paths"] == []


def slack_post(delivered, title_part: str) -> dict:
    matches = [p for p in delivered["slack"] if title_part in p["attachments"][0]["title"]]
    assert len(matches) == 1, [p["attachments"][0]["title"] for p in delivered["slack"]]
    return matches[0]


def test_critical_slack_message_says_what_when_how_sure_why_and_what_to_do(delivered):
    post = slack_post(delivered, "CRITICAL")
    att = post["attachments"][0]
    a = CRITICAL["annotations"]
    assert post["channel"] == "#foresight-test"
    assert att["color"] == "danger"
    assert att["title"] == f"[FIRING:1] CRITICAL · incident inc-7 · checkout · {a['summary']}"
    assert att["title_link"] == a["dashboard_url"]
    assert att["text"].strip() == "\n".join([
        f"<!channel> *{a['summary']}*",
        "*What:* memory of checkout (checkout-1), predictor `memory`, incident inc-7 (root cause: checkout)",
        "*When:* in ~3h 12m (80% range 2h 36m – 4h 0m), around 1970-01-01 03:18:00 +0000 UTC",
        "*How sure:* 87% within 6h, 100% within 24h",
        "*Why:* heap grows 100Mi/h since the 09:12 deploy; traffic is flat, so it is not load",
        "*What to do:* Raise the memory limit from 2Gi to at least 2.5Gi or roll back the 09:12 deploy.",
        f"<{a['runbook_url']}|Runbook> · <{a['dashboard_url']}|Dashboard>",
    ])


def test_alerts_of_one_incident_arrive_as_one_slack_message(delivered):
    post = slack_post(delivered, "incident inc-9")
    att = post["attachments"][0]
    assert att["title"] == "[FIRING:2] WARNING · incident inc-9"
    assert att["color"] == "warning"
    text = att["text"]
    assert not text.startswith("<!channel>"), "warnings must not notify the whole channel"
    for alert in (INCIDENT_ORDERS, INCIDENT_PAYMENTS):
        assert f"*{alert['annotations']['summary']}*" in text
        assert f"*What to do:* {alert['annotations']['action']}" in text
    assert "*What:* DB connection pool of orders, predictor `db-pool`, incident inc-9 (root cause: orders)" in text
    assert "*What:* memory of payments (payments-1), predictor `memory`, incident inc-9 (root cause: orders)" in text


def test_warning_without_incident_is_grouped_by_service(delivered):
    post = slack_post(delivered, "WARNING · catalog")
    a = LONE_WARNING["annotations"]
    assert post["attachments"][0]["title"] == f"[FIRING:1] WARNING · catalog · {a['summary']}"
    assert "*Why:* DB connection pool changes by +5.4 per hour and is at 72 now" in post["attachments"][0]["text"]


def test_critical_inhibits_the_warning_of_the_same_target(delivered):
    titles = [p["attachments"][0]["title"] for p in delivered["slack"]]
    assert not [t for t in titles if "WARNING · incident inc-7" in t], titles
    by_severity = {
        a["labels"]["severity"]: a for a in delivered["alerts"]
        if a["labels"].get("predictor") == "memory" and a["labels"].get("service") == "checkout"
    }
    assert by_severity["warning"]["status"]["state"] == "suppressed"
    assert by_severity["warning"]["status"]["inhibitedBy"] == [by_severity["critical"]["fingerprint"]]
    assert by_severity["critical"]["status"]["state"] == "active"


def test_pagerduty_event_v2(delivered):
    (event,) = delivered["pagerduty"]
    a = CRITICAL["annotations"]
    assert event["routing_key"] == ROUTING_KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"]
    payload = event["payload"]
    assert payload["summary"] == a["summary"]
    assert payload["severity"] == "critical"
    assert payload["source"]
    assert payload["component"] == "memory"
    assert payload["group"] == "checkout"
    assert payload["class"] == "ForesightExhaustionPredicted"
    # Alertmanager adds num_firing, num_resolved and resolved to the details it is given.
    details = payload["custom_details"]
    assert details.pop("num_firing") == "1" and details.pop("num_resolved") == "0"
    assert details.pop("resolved") == ""
    assert details == {
        "what": "memory of checkout (checkout-1) (predictor memory)",
        "when": a["when"],
        "how_sure": a["probability"],
        "why": a["why"],
        "action": a["action"],
        "incident": "inc-7 (root cause: checkout)",
        "firing": f"{a['summary']}. What to do: {a['action']} Runbook: {a['runbook_url']}\n",
    }
    assert event["links"] == [{"href": a["runbook_url"], "text": "Runbook"},
                              {"href": a["dashboard_url"], "text": "Dashboard"}]
    assert event["client"] == "Foresight"
    assert event["client_url"] == a["dashboard_url"]


def test_info_alerts_arrive_as_one_email_digest(delivered):
    (mail,) = delivered["email"]
    assert mail["Subject"] == "[Foresight digest] 2 info alerts"
    assert mail["To"] == SMTP_TO
    assert delivered["envelopes"][0][1] == [f"<{SMTP_TO}>"]
    text = mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = mail.get_body(preferencelist=("html",)).get_content()
    p, pipe = INFO_PREDICTION["annotations"], INFO_PIPELINE["annotations"]
    expected_prediction = "\n".join([
        f"* {p['summary']}",
        "  What: DB connection pool of search, predictor db-pool",
        f"  When: {p['when']}",
        f"  How sure: {p['probability']}",
        f"  Why: {p['why']}",
        f"  What to do: {p['action']}",
        f"  Runbook: {p['runbook_url']}",
        f"  Dashboard: {p['dashboard_url']}",
    ])
    assert expected_prediction in text, text
    assert "\n".join([f"* {pipe['summary']}", f"  {pipe['description']}", f"  Runbook: {pipe['runbook_url']}"]) in text
    assert text.startswith("Foresight info digest: 2 alert(s)")
    for needle in (p["summary"], f"What to do: {p['action']}", pipe["description"]):
        assert needle in html
    assert 'href="http://localhost:3000/d/foresight-predictor-detail/' in html
