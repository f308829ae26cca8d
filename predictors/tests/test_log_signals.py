"""LogPatternDetector on generated streams, with real Drain3: new templates, surges, bounds, bad input."""
import math
import random

from foresight.predictors.logs import LogPatternDetector, LogRecord, LogSettings

T0 = 1_767_225_600.0
MINUTE = 60.0


def _normal(r: random.Random, t: float) -> list[LogRecord]:
    """One minute of a healthy checkout service: a few templates, fresh ids and numbers on every line."""
    out = []
    for k in range(30):
        ts = t + k * 2
        out.append(LogRecord(ts, "checkout", "INFO",
                             f"{'10.0.%d.%d' % (r.randint(0, 255), r.randint(1, 254))}:{r.randint(1024, 65535)} - GET "
                             f"/api/v1/orders/{r.randint(1, 10**6)} 200 {r.randint(100, 9999)} "
                             f"{r.uniform(1, 90):.1f}ms request_id={r.getrandbits(64):016x}"))
        if k % 3 == 0:
            out.append(LogRecord(ts + 1, "checkout", "INFO",
                                 f"created order {r.randint(1, 10**7)} for user {r.choice(['ann', 'bo', 'cy'])} "
                                 f"with {r.randint(1, 9)} items"))
    out.append(LogRecord(t + 30, "checkout", "WARN", f"pool wait {r.randint(50, 90)} ms"))  # 1/min is normal
    return out


def _run(detector, minutes: range, extra=lambda t: [], seed=1):
    r = random.Random(seed)
    for m in minutes:
        t = T0 + m * MINUTE
        detector.add(_normal(r, t) + extra(t))


def _signal(detector, now):
    (signal,) = [s for s in detector.evaluate(now) if s.service == "checkout"]
    return signal


def test_startup_and_steady_traffic_are_not_anomalies():
    detector = LogPatternDetector()
    _run(detector, range(0, 5))
    early = _signal(detector, T0 + 5 * MINUTE)
    assert early.warming_up and early.anomaly_score == 0 and "warming up" in early.explanation
    _run(detector, range(5, 90))
    steady = _signal(detector, T0 + 90 * MINUTE)
    assert not steady.warming_up
    assert steady.new_templates == [] and steady.surging == [] and steady.anomaly_score == 0
    assert steady.explanation == "no new or surging log templates"
    assert {r.template for r in steady.top_rates} >= {"created order <NUM> for user <*> with <NUM> items"}
    lines_per_second = sum(r.per_second for r in steady.top_rates)
    assert math.isclose(lines_per_second, 41 / 60, rel_tol=0.05)


def _refused(t):
    return [LogRecord(t + 5 * k, "checkout", "ERROR", f"connection refused to 10.9.8.{k + 1}:{5432 + k}")
            for k in range(12)]


def test_a_new_error_template_after_warmup_is_reported_then_ages_out():
    detector = LogPatternDetector()
    _run(detector, range(0, 60))
    _run(detector, range(60, 65), extra=_refused, seed=2)
    signal = _signal(detector, T0 + 65 * MINUTE)
    assert signal.new_templates == ["connection refused to <IP>:<NUM>"]
    assert signal.anomaly_score >= 0.8
    assert signal.explanation.startswith('new error "connection refused to <IP>:<NUM>" at 12/min')
    errors = [r for r in signal.top_rates if r.severity == "ERROR"]
    assert [(r.template, round(r.per_second * 60)) for r in errors] == [("connection refused to <IP>:<NUM>", 12)]
    # Still logged at the same rate 20 minutes later: no longer new (grace 15 min) and steady, so quiet.
    _run(detector, range(65, 85), extra=_refused, seed=3)
    later = _signal(detector, T0 + 85 * MINUTE)
    assert later.new_templates == [] and later.anomaly_score < signal.anomaly_score


def test_a_warning_template_surging_over_its_baseline():
    def pool_storm(t):
        return [LogRecord(t + 2 * k, "checkout", "WARN", f"pool wait {400 + k} ms") for k in range(19)]

    detector = LogPatternDetector()
    _run(detector, range(0, 90))
    _run(detector, range(90, 95), extra=pool_storm, seed=2)
    signal = _signal(detector, T0 + 95 * MINUTE)
    assert signal.new_templates == []
    [(template, ratio)] = signal.surging
    assert template == "pool wait <NUM> ms"
    assert 15 < ratio < 25  # 20 lines/min against a baseline of 1/min
    assert 0.5 < signal.anomaly_score <= 1
    assert f'"pool wait <NUM> ms" x{ratio:.3g} over its baseline' in signal.explanation
    warn_rate = sum(r.per_second for r in signal.top_rates if r.severity == "WARN")
    assert math.isclose(warn_rate, 20 / 60, rel_tol=0.05)


def test_info_templates_do_not_surge():
    def chatty(t):
        return [LogRecord(t + k, "checkout", "INFO", f"cache refreshed {k} keys") for k in range(50)]

    detector = LogPatternDetector()
    _run(detector, range(0, 60), extra=lambda t: chatty(t)[:2])
    _run(detector, range(60, 65), extra=chatty, seed=2)
    assert _signal(detector, T0 + 65 * MINUTE).surging == []


def test_top_rates_keep_label_cardinality_bounded():
    detector = LogPatternDetector(LogSettings(top_templates=5))
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo",
             "lima"]
    records = [LogRecord(T0 + k, "api", "ERROR" if n % 4 == 0 else "INFO", f"{w} step finished {k}")
               for k in range(120) for n, w in enumerate(words[: 1 + k % len(words)])]
    detector.add(records)
    (signal,) = detector.evaluate(T0 + 120)
    named = [r for r in signal.top_rates if r.template_id != "other"]
    other = [r for r in signal.top_rates if r.template_id == "other"]
    assert len(named) == 5 and {r.severity for r in other} == {"INFO", "ERROR"}
    assert [r.per_second for r in named] == sorted((r.per_second for r in named), reverse=True)
    assert math.isclose(sum(r.per_second for r in signal.top_rates), len(records) / 120, rel_tol=1e-9)


def test_bad_records_are_counted_and_skipped():
    detector = LogPatternDetector()
    records = [
        LogRecord(T0, "api", "INFO", "ok 1"),
        LogRecord(T0, "api", "INFO", ""),
        LogRecord(T0, "api", "INFO", "   "),
        LogRecord(T0, "api", "INFO", None),
        LogRecord(float("nan"), "api", "INFO", "nan time"),
        LogRecord(float("inf"), "api", "INFO", "inf time"),
        LogRecord(None, "api", "INFO", "no time"),
        LogRecord("yesterday", "api", "INFO", "text time"),
        LogRecord(-5.0, "api", "INFO", "negative time"),
        LogRecord(T0 + 1, "", "warning", "no service, odd severity"),
        LogRecord(T0 + 1, 42, "INFO", "service is not text"),
        None,
        {"body": "a dict, not a record"},
    ]
    assert detector.add(records) == 2
    assert detector.bad == {"empty body": 3, "bad timestamp": 5, "bad service": 1, "not a log record": 2}
    signals = {s.service: s for s in detector.evaluate(T0 + 2)}
    assert set(signals) == {"api", "unknown_service"}
    assert signals["unknown_service"].top_rates[0].severity == "WARN"


def test_services_beyond_the_cap_are_skipped():
    detector = LogPatternDetector(LogSettings(max_services=3))
    accepted = detector.add(LogRecord(T0, f"svc-{n}", "INFO", "started") for n in range(5))
    assert accepted == 3 and detector.bad["too many services"] == 2
    assert len(detector.evaluate(T0 + 1)) == 3


def test_state_expires_in_event_time_and_late_records_are_counted():
    settings = LogSettings(window=60, baseline=600)
    detector = LogPatternDetector(settings)
    detector.add([LogRecord(T0 + k, "old", "INFO", f"tick {k}") for k in range(60)])
    detector.add([LogRecord(T0 + 1000 + k, "new", "INFO", f"tock {k}") for k in range(60)])
    signals = detector.evaluate(T0 + 1060)
    assert [s.service for s in signals] == ["new"]  # "old" fell out of window + baseline
    assert detector.late == 60
    assert all(k[0] == "new" for k in detector._series)
    detector.add([LogRecord(T0 + 5, "new", "INFO", "tock 1")])  # far behind the baseline now
    detector.evaluate(T0 + 1070)
    assert detector.late == 61


def test_same_stream_gives_same_signals():
    def run():
        detector = LogPatternDetector()
        _run(detector, range(0, 60))
        _run(detector, range(60, 63), extra=_refused, seed=2)
        return [(s.anomaly_score, s.new_templates, s.explanation) for s in detector.evaluate(T0 + 63 * MINUTE)]
    assert run() == run()


def test_evaluate_rejects_a_time_that_is_not_a_number():
    detector = LogPatternDetector()
    for bad in (float("nan"), float("inf"), None, "now"):
        try:
            detector.evaluate(bad)
        except ValueError as error:
            assert "now must be a finite unix time" in str(error)
        else:
            raise AssertionError(f"evaluate({bad!r}) was accepted")


def test_a_flood_of_distinct_templates_keeps_memory_bounded():
    detector = LogPatternDetector(LogSettings(max_templates=10, cache_size=50))
    words = [f"{a}{b}" for a in "abcdefghij" for b in "klmnopqrst"]  # 100 distinct first words
    detector.add(LogRecord(T0 + n, "api", "INFO", f"{w} {w[::-1]} done") for n, w in enumerate(words))
    (signal,) = detector.evaluate(T0 + 100)
    assert detector.miner.template_count <= 10 and len(detector.miner.cache) <= 50
    assert len(detector._series) <= 10 and len(detector._first_seen) <= 10
    assert len(signal.top_rates) <= 10 + 1
