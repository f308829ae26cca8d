"""The sidecar on event time from many producers: a clock ahead, series that go away, and the
settings for both (`foresight run --max-skew --series-ttl --max-series`)."""
import pytest
from otlp_builders import gauge_payload

from foresight.config import parse_config
from foresight.runtime.cli import build_parser
from foresight.runtime.service import Service, Settings
from foresight.store import StoreSettings
from foresight_dev.devstack.processes import free_port

CONFIG = parse_config("""
predictors:
  - name: memory
    kind: exhaustion
    series: process_memory_usage_bytes
    limit: 1000
""")
T0 = 1_767_225_600


def service(**store):
    return Service(CONFIG, Settings(listen=f"127.0.0.1:{free_port()}", store=StoreSettings(**store)))


def memory(service_name, t, v=100.0):
    return "metrics", gauge_payload("process.memory.usage", "By", [(t, v)], service=service_name,
                                    instance=f"{service_name}-0")


def value(svc, name, labels=None):
    return svc.registry.get_sample_value(name, labels or {})


def test_a_producer_an_hour_ahead_is_dropped_and_counted_and_moves_nothing():
    svc = service()
    for i in range(30):
        t = T0 + 15 * i
        svc.handle([memory("checkout", t), memory("cart", t), memory("db", t), memory("skewed", t + 3600)])
    assert value(svc, "foresight_bad_input_total", {"reason": "future"}) == 30
    assert value(svc, "foresight_event_time_seconds") == T0 + 15 * 29
    assert value(svc, "foresight_points_ingested_total", {"signal": "metrics"}) == 90
    assert sorted(dict(key[1])["job"] for key in svc.engine.store.windows) == ["cart", "checkout", "db"]


def test_idle_series_are_evicted_and_counted():
    svc = service(series_ttl=600)
    for i in range(20):
        t = T0 + 60 * i
        svc.handle([memory("checkout", t)] + ([memory("gone", t)] if i < 5 else []))
    assert value(svc, "foresight_series_evicted_total", {"reason": "idle"}) == 1
    assert value(svc, "foresight_series_evicted_total", {"reason": "max_series"}) == 0
    assert value(svc, "foresight_series_tracked") == 1


def test_run_flags_default_from_the_environment(monkeypatch):
    args = build_parser({}).parse_args(["run", "-c", "x.yaml"])
    assert (args.max_skew, args.series_ttl, args.max_series) == (600.0, 6 * 3600.0, 100_000)
    monkeypatch.setenv("FORESIGHT_MAX_SKEW", "2m")
    monkeypatch.setenv("FORESIGHT_SERIES_TTL", "1d")
    monkeypatch.setenv("FORESIGHT_MAX_SERIES", "500")
    args = build_parser({}).parse_args(["run", "-c", "x.yaml"])
    assert (args.max_skew, args.series_ttl, args.max_series) == (120.0, 86400.0, 500)
    args = build_parser({}).parse_args(["run", "-c", "x.yaml", "--max-skew", "30s"])
    assert args.max_skew == 30.0


def test_bad_run_flags_name_the_flag_and_value(capsys):
    for flag, text in (("--max-skew", "soon"), ("--series-ttl", "0s"), ("--max-series", "many")):
        with pytest.raises(SystemExit) as exc:
            build_parser({}).parse_args(["run", "-c", "x.yaml", flag, text])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert flag in err and text in err
