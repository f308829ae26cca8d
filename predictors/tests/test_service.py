"""The sidecar's message handling and endpoints, without a broker (the integration test has one)."""
import gc
import math

import pytest
import requests
from otlp_builders import add_gauge, add_sum, gauge_payload, logs_payload, metrics_request, traces_payload

from foresight.config import parse_config
from foresight.runtime.service import Service, Settings
from foresight_dev.devstack.processes import free_port

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes
    limit: 1000
    resource: memory
""")
T0 = 1_767_225_600


def service():
    return Service(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}"))


def memory(t, v):
    return ("metrics", gauge_payload("process.memory.usage", "By", [(t, v)]))


def value(svc, name, labels=None):
    return svc.registry.get_sample_value(name, labels or {})


def test_bad_input_is_counted_and_nothing_accepted_is_lost():
    svc = service()
    good = [memory(T0 + 60 * i, 100 + i) for i in range(20)]
    svc.handle(good[:10])
    req, scope = metrics_request()
    add_gauge(scope, "process.memory.usage", "By", [(T0 + 9000, math.nan), (T0 + 9060, math.inf)])
    scope.metrics.add(name="mystery")
    counter_req, counter_scope = metrics_request()
    add_sum(counter_scope, "db.client.connection.timeouts", "{timeout}", [(T0, 100), (T0 + 60, 10)])
    svc.handle([
        ("metrics", b"\x0a\xff\xff not protobuf"),
        ("logs", b"\xff"),
        ("metrics", req.SerializeToString()),
        memory(T0 + 60 * 5, 1),  # out of order
        memory(T0 + 60 * 9, 1),  # duplicate timestamp
        ("metrics", counter_req.SerializeToString()),
    ])
    svc.handle(good[10:])
    for reason, n in {"malformed_protobuf": 2, "non_finite_value": 2, "unknown_metric_type": 1,
                      "out_of_order": 1, "duplicate": 1}.items():
        assert value(svc, "foresight_bad_input_total", {"reason": reason}) == n, reason
    window = next(iter(svc.engine.store.windows.values()))
    assert list(window.values) == [100 + i for i in range(20)]
    # The 20 memory points; the counter no predictor reads is skipped at decode.
    assert value(svc, "foresight_points_ingested_total", {"signal": "metrics"}) == 20
    assert value(svc, "foresight_event_time_seconds") == T0 + 60 * 19  # dropped NaN points do not move it


def test_logs_and_traces_are_ingested():
    svc = service()
    svc.handle([("logs", logs_payload("checkout", [(T0, "INFO", "a"), (T0 + 1, "ERROR", "b")])),
                ("traces", traces_payload("db", [(T0, T0 + 1, False)]))])
    assert value(svc, "foresight_points_ingested_total", {"signal": "logs"}) == 2
    assert value(svc, "foresight_points_ingested_total", {"signal": "traces"}) == 1


def test_predictions_and_inference_histogram_published():
    svc = service()
    refit_pending, published_first = svc.engine.refit_pending, []
    predict, collecting = svc.engine.predict, []

    def paused_predict():  # the garbage collector waits while the predictions are made
        collecting.append(gc.isenabled())
        return predict()

    def after_publication():  # the scheduled refits run once this loop's predictions are out
        published_first.append(value(svc, "foresight_event_time_seconds") == svc.engine.store.watermark)
        collecting.append(gc.isenabled())
        refit_pending()
    svc.engine.predict, svc.engine.refit_pending = paused_predict, after_publication
    assert gc.isenabled()
    svc.handle([memory(T0 + 60 * i, 100 + 5 * i) for i in range(60)])
    assert published_first and all(published_first)
    assert collecting == [False, True] * len(published_first) and gc.isenabled()
    assert value(svc, "foresight_refit_duration_seconds_count") == len(published_first)
    ids = {"predictor": "memory", "service": "checkout", "service_instance": "checkout-0"}
    # 395 of 1000 after an hour, rising 5 a minute: the limit is 605 / 5 = 121 minutes away.
    assert value(svc, "foresight_time_to_failure_seconds", {**ids, "quantile": "0.5"}) == pytest.approx(121 * 60, rel=0.02)
    assert value(svc, "foresight_inference_duration_seconds_count") >= 1


def test_endpoints_report_health_and_readiness():
    from foresight.publish.endpoints import serve

    svc = service()
    server = serve(svc.settings.listen, svc.registry, svc.health_status, svc.ready_status)
    base = f"http://{svc.settings.listen}"
    try:
        assert requests.get(base + "/healthz").status_code == 200
        not_ready = requests.get(base + "/readyz")
        assert not_ready.status_code == 503 and "warming" in not_ready.text
        svc.warmed, svc.source = True, object()
        assert requests.get(base + "/readyz").status_code == 200
        metrics = requests.get(base + "/metrics")
        assert "foresight_predictor_info" in metrics.text and metrics.headers["Content-Type"].startswith("text/plain")
        assert requests.get(base + "/nope").status_code == 404
    finally:
        server.shutdown()


def test_warm_up_from_an_unreachable_prometheus_is_not_fatal():
    svc = Service(CONFIG, Settings(prometheus_url=f"http://127.0.0.1:{free_port()}"))
    svc.warm_up(T0)
    assert value(svc, "foresight_warmup_points_total") == 0
