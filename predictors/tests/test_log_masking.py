"""Secrets, user ids and e-mail addresses are masked before a log template can become a label
value; ordinary words, numbers and ids keep their own masks."""
import pytest
from otlp_builders import logs_payload
from prometheus_client import CollectorRegistry, generate_latest

from foresight.config import parse_config
from foresight.predictors.logs import TemplateMiner, mask
from foresight.publish.metrics import PredictionCollector
from foresight.runtime.engine import Engine

JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkphbmUifQ."
       "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
API_KEY = "sk9Zr2LmQ4vX8pT1wE6yU3iO0aS5dF7gH2jK"  # upper, lower and digits: base64-like, 36 long


@pytest.mark.parametrize("line, expected", [
    # e-mail addresses
    ("password reset mailed to jane.doe+ops@example.co.uk", "password reset mailed to <EMAIL>"),
    ("login ok for alice@example.com from 10.0.0.1", "login ok for <EMAIL> from <IP>"),
    # tokens: JWTs, bearer credentials, secret-named keys, long base64 runs
    (f"verified {JWT}", "verified <TOKEN>"),
    (f"Authorization: Bearer {JWT}", "Authorization: Bearer <TOKEN>"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <TOKEN>"),
    ("call with bearer abcdef.123456 failed", "call with bearer <TOKEN> failed"),
    ("GET /api/v1/x token=abc123def retry", "GET <PATH> token=<TOKEN> retry"),
    ("api_key=AKIAIOSFODNN7 password=hunter2 secret=s", "api_key=<TOKEN> password=<TOKEN> secret=<TOKEN>"),
    ("refresh access_token=xyz client_secret='q w'", "refresh access_token=<TOKEN> client_secret='<TOKEN> w'"),
    ("X-Api-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0 sent", "X-Api-Key: <TOKEN> sent"),
    ('{"access_token": "xyz", "Password":"pw1", "level": "info"}',
     '{"access_token": "<TOKEN>", "Password":"<TOKEN>", "level": "info"}'),
    (f"signing with {API_KEY} now", "signing with <TOKEN> now"),
    (f"{API_KEY} rejected", "<TOKEN> rejected"),
    ("session=3fa85f64-5717-4562-b3fc-2c963f66afa6 opened", "session=<TOKEN> opened"),
    # user ids
    ("user=root uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4", "user=<USER> uid=<USER> euid=<USER> tty=ssh ruser= rhost=<IP>"),
    ('{"user_id": "u-829", "username": "jane"}', '{"user_id": "<USER>", "username": "<USER>"}'),
    ("cart emptied for customer_id=C-1009 account:acme-42", "cart emptied for customer_id=<USER> account:<USER>"),
    ("denied: user: 1234", "denied: user: <USER>"),
    ("owner 3fa85f64-5717-4562-b3fc-2c963f66afa6 left", "owner <ID> left"),  # a uuid anywhere is an id
])
def test_identifying_values_are_masked(line, expected):
    assert mask(line) == expected


@pytest.mark.parametrize("line, expected", [
    # prose that mentions the words, and keys that only start or end like them
    ("auth: failed for client, session: closed", "auth: failed for client, session: closed"),
    ("author=jane tokens=5 max_tokens=10 passes=3 sessions=4",
     "author=jane tokens=<NUM> max_tokens=<NUM> passes=<NUM> sessions=<NUM>"),
    ("Token: Token { kind: HDFS_DELEGATION_TOKEN }", "Token: Token { kind: HDFS_DELEGATION_TOKEN }"),
    ("user logged out", "user logged out"),
    ("basic authentication failed; Bearer authentication next", "basic authentication failed; Bearer authentication next"),
    ("empty ruser= rhost=", "empty ruser= rhost="),
    # long ids without upper case, lower case and a digit together, and class names
    ("Receiving block blk_-1608999687919862906 src: /10.250.19.102:54106",
     "Receiving block blk_<NUM> src: /<IP>:<NUM>"),
    ("container_1445144423722_0020_01_000002 finished", "container_<NUM>_<NUM>_<NUM>_<NUM> finished"),
    ("org.apache.hadoop.mapreduce.v2.app.MRAppMaster started", "org.apache.hadoop.mapreduce.v2.app.MRAppMaster started"),
    ("HttpServer2$SelectChannelConnectorWithSafeStartup@0.0.0.0:8042",
     "HttpServer2$SelectChannelConnectorWithSafeStartup@<IP>:<NUM>"),
    ("BlockManagerMasterEndpointRegistrationHandler ready", "BlockManagerMasterEndpointRegistrationHandler ready"),
    ("tryToReloadTodayBasicSteps1514044800223|0|0", "tryToReloadTodayBasicSteps1514044800223|<NUM>|<NUM>"),
])
def test_ordinary_text_keeps_its_words(line, expected):
    assert mask(line) == expected


def test_lines_that_differ_only_in_secrets_share_one_template_without_them():
    miner = TemplateMiner()
    ids = {miner.template_id(f"login ok for {user}@example.com token={token} user_id={n}")
           for n, (user, token) in enumerate([("ann", "a1b2"), ("bob", "zz9"), ("cy", "q")])}
    assert len(ids) == 1
    template = miner.template(ids.pop())
    assert template == "login ok for <EMAIL> token=<TOKEN> user_id=<USER>"


CONFIG = """
predictors:
  - name: log-patterns
    kind: logs
    resource: logs
    policy: {min_history: 1m}
"""


def test_a_template_label_value_never_holds_the_secret():
    """Through the logs predictor to the /metrics exposition: the `template` label of
    foresight_log_template_rate and the alert's why hold the masks, not the address, the
    token or the user id."""
    engine, t0 = Engine(parse_config(CONFIG)), 1_767_225_600.0
    predictions = []
    for minute in range(40):
        t = t0 + 60 * minute
        records = [(t + s, "INFO", f"GET /api/cart/{s} 200 in {s + 3} ms") for s in range(0, 60, 5)]
        if minute >= 30:
            records += [(t + s, "ERROR", f"payment refused for jane.doe@example.com with Bearer {JWT} "
                                         f"user_id=u-{s}x api_key={API_KEY}") for s in range(0, 60, 10)]
        engine.ingest("logs", logs_payload("checkout", records))
        predictions = engine.evaluate() or predictions
    worst = max(predictions, key=lambda p: p.anomaly_score)
    assert any("payment refused for <EMAIL>" in template for _, template, _, _ in worst.log_templates)
    registry = CollectorRegistry()
    collector = PredictionCollector(parse_config(CONFIG).predictors)
    registry.register(collector)
    collector.update(predictions)
    text = generate_latest(registry).decode()
    assert 'template="payment refused for <EMAIL> with Bearer <TOKEN> user_id=<USER> api_key=<TOKEN>"' in text
    for secret in ("jane.doe", "example.com", JWT[:12], "u-10x", API_KEY):
        assert secret not in text and secret not in " ".join(worst.drivers)
