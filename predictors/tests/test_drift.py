"""Drift detection (lifecycle.drift) on synthetic streams, and the live scorecard
(runtime.scorecard) that feeds it."""
import numpy as np

from foresight.contracts.predictions import Prediction
from foresight.lifecycle.codec import dumps, encode, loads
from foresight.lifecycle.drift import DriftSettings, DriftWatch, PageHinkley
from foresight.runtime.scorecard import CHALLENGER, CHAMPION, DAY, Scorecard

LABELS = (("service", "checkout"),)


def first_detection(detector, stream):
    for i, x in enumerate(stream):
        if detector.add(float(x)):
            return i
    return None


def test_page_hinkley_stays_quiet_without_drift_and_fires_soon_after_a_shift():
    rng = np.random.default_rng(3)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        calm = np.abs(rng.normal(0.8, 0.4, 5000))  # scaled errors of a model that keeps its promise
        assert first_detection(PageHinkley(0.5, 30.0), calm) is None
        shifted = np.r_[calm[:2000], np.abs(rng.normal(3.0, 1.0, 500))]  # its error triples at 2000
        found = first_detection(PageHinkley(0.5, 30.0), shifted)
        assert found is not None and 2000 <= found <= 2000 + 40  # within 40 values of the shift


def test_coverage_misses_against_the_nominal_rate():
    rng = np.random.default_rng(1)
    calibrated = rng.random(5000) < 0.2  # an 80% range misses 20% of the time
    settings = DriftSettings()
    assert first_detection(settings.detector("coverage"), calibrated) is None
    broken = np.r_[calibrated[:1000], rng.random(500) < 0.8]
    found = first_detection(settings.detector("coverage"), broken)
    assert found is not None and 1000 <= found <= 1000 + 60
    # A detector that knows nothing of the nominal rate would not see a model that always misses.
    assert first_detection(PageHinkley(0.1, 15.0), np.ones(3000)) is None
    assert first_detection(settings.detector("coverage"), np.ones(3000)) is not None


def test_alarm_rate_against_the_expected_rate():
    expected = 1.0 / 1440  # one alert a day, one evaluation a minute
    rng = np.random.default_rng(2)
    quiet = rng.random(20000) < expected
    settings = DriftSettings()
    assert first_detection(settings.detector("alarm_rate", expected), quiet) is None
    noisy = np.r_[quiet[:5000], rng.random(600) < 0.1]  # an alert every ten minutes
    found = first_detection(settings.detector("alarm_rate", expected), noisy)
    assert found is not None and 5000 <= found <= 5000 + 120


def test_a_detection_holds_then_clears_and_the_watch_is_plain_data():
    watch = DriftWatch("memory", DriftSettings(min_samples=5, hold=3600.0))
    fired = [t for t in range(200) if watch.add(LABELS, "coverage", 1.0, float(t * 60))]
    assert fired and fired[0] <= 30
    last = fired[-1] * 60.0
    assert watch.flags(last + 10) == {(LABELS, "coverage"): 1} and watch.drifting(last + 10)
    assert watch.flags(last + 3601) == {(LABELS, "coverage"): 0}
    # Its state goes into checkpoints through the codec: data only, back the same.
    back = loads(dumps(encode(watch), "drift"), "drift")
    assert back.flags(last + 10) == watch.flags(last + 10)
    assert back.targets[LABELS].detectors["coverage"].cum == watch.targets[LABELS].detectors["coverage"].cum


def prediction(t, observed, p10, p50, p90, level=0):
    forecast = {(3600.0, 0.1): p10, (3600.0, 0.5): p50, (3600.0, 0.9): p90}
    return Prediction("memory", dict(LABELS), t, observed, forecast=forecast, risk_level=level)


def test_the_scorecard_scores_forecasts_when_their_truth_arrives():
    card = Scorecard()
    # A value growing 60 a minute; the champion forecasts it exactly, the challenger says nothing changes.
    for minute in range(0, 3 * 24 * 60, 5):
        t = minute * 60.0
        value = 60.0 * minute
        truth = value + 3600.0
        card.observe([prediction(t, value, truth - 10, truth, truth + 10, level=int(minute % 600 == 0))], CHAMPION)
        card.observe([prediction(t, value, value - 10, value, value + 10)], CHALLENGER)
    scores = {(alias, name): v for _, alias, name, v in card.scores(3 * DAY)}
    assert scores[(CHAMPION, "forecasts_scored")] > 800
    assert scores[(CHAMPION, "forecast_mase_1h")] < 0.2 < 0.9 < scores[(CHALLENGER, "forecast_mase_1h")]
    assert scores[(CHAMPION, "forecast_coverage_p10_p90_1h")] > 0.9
    assert scores[(CHALLENGER, "forecast_coverage_p10_p90_1h")] < 0.1
    assert scores[(CHAMPION, "alert_episodes")] > 0 == scores[(CHALLENGER, "alert_episodes")]
    # Three whole days were scored, both aliases in each; the challenger was better on none.
    assert scores[(CHAMPION, "days_scored")] == 3 and scores[(CHALLENGER, "days_better")] == 0
    # Verdicts on a champion episode count for the challenger only when it was at risk then too.
    card.verdict("memory", LABELS, 0.0, 300.0, "dismissed")
    scores = {(alias, name): v for _, alias, name, v in card.scores(3 * DAY)}
    assert scores[(CHAMPION, "verdicts_dismissed")] == 1 and scores[(CHALLENGER, "verdicts_dismissed")] == 0


def test_days_better_counts_the_run_up_to_the_last_scored_day():
    card = Scorecard()
    for minute in range(0, 4 * 24 * 60, 10):
        t, value = minute * 60.0, float(minute)
        truth = value + 60.0
        card.observe([prediction(t, value, value - 1, value, value + 1)], CHAMPION)
        good = truth if minute >= 24 * 60 else value - 100  # the challenger is worse on day 0, better after
        card.observe([prediction(t, value, good - 1, good, good + 1)], CHALLENGER)
    assert card.days("memory", 4 * DAY) == (4, 3)
    assert card.days("memory", 3.5 * DAY) == (3, 2)  # day 3 has not ended


def test_drift_fires_on_the_champion_when_its_forecasts_stop_holding():
    card = Scorecard(DriftSettings(min_samples=10))
    for minute in range(0, 12 * 60):
        t = minute * 60.0
        value = 10.0 * minute if minute < 6 * 60 else 3600.0 + 50.0 * ((minute * 7) % 13)  # the growth stops
        guess = 10.0 * (minute + 60)  # the model keeps forecasting the growth
        card.observe([prediction(t, value, guess - 30, guess, guess + 30)], CHAMPION)
    flags = {signal: flag for name, labels, signal, flag in card.drift_flags(12 * 3600.0)}
    assert flags["coverage"] == 1 and flags["forecast_error"] == 1
    early = Scorecard(DriftSettings(min_samples=10))
    for minute in range(0, 6 * 60):
        t, value = minute * 60.0, 10.0 * minute
        guess = 10.0 * (minute + 60)
        early.observe([prediction(t, value, guess - 30, guess, guess + 30)], CHAMPION)
    assert {flag for *_, flag in early.drift_flags(6 * 3600.0)} == {0}


def test_the_drift_watch_is_kept_in_the_engine_checkpoint_rows():
    """Engine.export_state carries each champion's drift watch (section `drift`), through the
    codec as checkpoints write it; import_state takes it back into the same dict the scorecard feeds."""
    from foresight.config import parse_config
    from foresight.lifecycle.checkpoints import snapshot
    from foresight.runtime.engine import Engine
    from foresight.runtime.shadow import ModelWatch
    from prometheus_client import CollectorRegistry

    config = parse_config("predictors:\n  - name: memory\n    kind: exhaustion\n    series: used\n    limit: 100\n", "p")
    engine = Engine(config)
    watch = ModelWatch(engine, CollectorRegistry())
    for t in range(100):
        watch.scorecard.watch("memory").add(LABELS, "coverage", 1.0, t * 60.0)
    rows = [r for r in engine.export_state() if r[0] == "drift"]
    assert [(section, name) for section, name, _, _ in rows] == [("drift", "memory")]
    snap = snapshot(rows, 6000.0)
    decoded = [(section, name, loads(dumps(value, section), section)) for section, name, _, value in snap.rows]
    fresh = Engine(config)
    fresh_watch = ModelWatch(fresh, CollectorRegistry())
    report = fresh.import_state([(section, name, (), value) for section, name, value in decoded])
    assert not report.skipped
    assert fresh_watch.scorecard.drift_flags(6000.0) == watch.scorecard.drift_flags(6000.0) != []


def test_verdicts_reach_the_scorecard_from_the_feedback_events():
    """The feedback loop's `feedback` event (on its own thread) counts for the champion's
    episode it names, and for the challenger when it was at risk then too."""
    from foresight.config import parse_config
    from foresight.feedback.episodes import episode_id
    from foresight.feedback.events_log import emit
    from foresight.publish.metrics import PredictionCollector
    from foresight.runtime.engine import Engine
    from foresight.runtime.shadow import ModelWatch
    from prometheus_client import CollectorRegistry

    config = parse_config("predictors:\n  - name: memory\n    kind: exhaustion\n    series: used\n    limit: 100\n", "p")
    watch = ModelWatch(Engine(config), CollectorRegistry())
    publisher = PredictionCollector(config.predictors)
    try:
        for minute, champion, challenger in ((0, 0, 0), (1, 2, 0), (2, 2, 2), (3, 0, 0), (10, 3, 0), (11, 0, 0)):
            t = minute * 60.0
            watch.observe([prediction(t, 1.0, 0, 1, 2, champion)], [], t, publisher)
            watch.scorecard.observe([prediction(t, 1.0, 0, 1, 2, challenger)], CHALLENGER)
        labels = dict(LABELS)
        emit("feedback", verdict="dismissed", predictor="memory", labels=labels,
             episode=episode_id("memory", labels, 60.0))  # both were at risk in it
        emit("feedback", verdict="confirmed", predictor="memory", labels=labels,
             episode=episode_id("memory", labels, 600.0))  # the challenger was not
        emit("feedback", verdict="confirmed", predictor="memory", labels=labels, episode="unknown")
        watch.observe([], [], 720.0, publisher)
        scores = {(alias, name): v for _, alias, name, v in watch.scorecard.scores(720.0)}
        assert scores[(CHAMPION, "verdicts_dismissed")] == 1 and scores[(CHAMPION, "verdicts_confirmed")] == 2
        assert scores[(CHALLENGER, "verdicts_dismissed")] == 1 and scores[(CHALLENGER, "verdicts_confirmed")] == 0
        assert scores[(CHAMPION, "alert_episodes")] == 2 and scores[(CHALLENGER, "alert_episodes")] == 1
    finally:
        watch.close()


def test_without_a_registry_no_drift_is_published():
    """Drift asks for a retraining of the champion; a sidecar without a registry has none, so
    its drift watch runs but foresight_model_drift stays 0 (no ForesightModelDrift)."""
    from foresight.config import parse_config
    from foresight.publish.metrics import PredictionCollector
    from foresight.runtime.engine import Engine
    from foresight.runtime.shadow import ModelWatch
    from prometheus_client import CollectorRegistry

    config = parse_config("predictors:\n  - name: memory\n    kind: exhaustion\n    series: used\n    limit: 100\n", "p")
    for publish, expected in ((True, 1.0), (False, 0.0)):
        registry = CollectorRegistry()
        watch = ModelWatch(Engine(config), registry, publish_drift=publish)
        for t in range(100):
            watch.scorecard.watch("memory").add(LABELS, "coverage", 1.0, t * 60.0)
        assert watch.scorecard.drift_flags(6000.0)  # the watch saw the drift either way
        watch.observe([], [], 6000.0, PredictionCollector(config.predictors))
        labels = {"predictor": "memory", **dict(LABELS), "signal": "coverage"}
        assert registry.get_sample_value("foresight_model_drift", labels) == expected
