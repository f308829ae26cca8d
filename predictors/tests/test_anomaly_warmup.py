"""The anomaly kind's warm-up and readiness, and sparse counts that must not alarm.

A detector that has not settled publishes no score (not 0.0, which reads as "normal"),
`foresight_predictor_ready` says when every target may alert, and an alert quotes the
score that raised it (`foresight_anomaly_peak_score`) after the detector goes quiet.
"""
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from foresight.config import parse_config
from foresight.contracts.points import GAUGE, Point
from foresight.predictors.anomaly import DetectorSettings, StreamingDetector, univariate
from foresight.predictors.anomaly.likelihood import TailLikelihood
from foresight.publish.metrics import PredictionCollector
from foresight.runtime.engine import Engine

T0 = 1_767_225_600.0
STEP = 15.0
WARMUP = DetectorSettings().warmup_rows
CONFIG = """
predictors:
  - name: packets
    kind: anomaly
    series: packets_sent_per_second
    resource: packets sent
    policy: {min_history: %s}
"""
IDS = {"predictor": "packets", "service": "node-7"}


def packets(rows: int, fall_at: int | None, seed: int = 3) -> np.ndarray:
    """Packets sent per second on a daily cycle; from `fall_at` on, 98% fewer."""
    rng = np.random.default_rng(seed)
    t = T0 + STEP * np.arange(rows)
    v = 1000.0 * (1.0 + 0.3 * np.sin(2 * np.pi * t / 86400.0)) + rng.normal(0.0, 30.0, rows)
    if fall_at is not None:
        v[fall_at:] *= 0.02
    return v


class Sidecar:
    """The engine and the publisher, fed one point per evaluation as the sidecar is."""

    def __init__(self, min_history: str):
        config = parse_config(CONFIG % min_history)
        self.engine = Engine(config)
        self.registry = CollectorRegistry()
        self.collector = PredictionCollector(config.predictors)
        self.registry.register(self.collector)
        self.rows = 0

    def feed(self, values) -> list:
        out = []
        for value in values:
            t = T0 + STEP * self.rows
            self.rows += 1
            self.engine.add_points("metrics", [Point("packets_sent_per_second", (("job", "node-7"),), t, value, GAUGE)])
            predictions = self.engine.evaluate()
            self.collector.update(predictions, self.engine.withdrawn, now=t)
            out += predictions
        return out

    def sample(self, name: str, labels=None):
        return self.registry.get_sample_value(name, labels or IDS)


def test_a_falling_series_during_the_warm_up_publishes_no_score():
    sidecar = Sidecar("1m")
    values = packets(WARMUP, fall_at=60)  # falls 98% a quarter hour in, during the warm-up
    predictions = sidecar.feed(values)
    assert len(predictions) == WARMUP
    assert all(p.anomaly_score is None and p.risk_level == 0 for p in predictions)
    assert sidecar.sample("foresight_anomaly_score") is None  # left out, not 0
    assert sidecar.sample("foresight_observed_value") == pytest.approx(values[-1])
    assert sidecar.sample("foresight_predictor_ready", {"predictor": "packets"}) == 0


def test_after_the_warm_up_a_98_percent_fall_scores_high_and_the_alert_keeps_its_score():
    sidecar = Sidecar("1m")
    values = packets(700, fall_at=600)
    before = sidecar.feed(values[:600])
    assert before[WARMUP].anomaly_score is not None
    assert sidecar.sample("foresight_predictor_ready", {"predictor": "packets"}) == 1
    assert max(p.anomaly_score for p in before[WARMUP + 50:]) < 0.9
    after = sidecar.feed(values[600:])
    fired = [p for p in after[:5] if p.anomaly_score >= 0.9]
    assert fired and fired[0].risk_level == 2
    peak = max(p.anomaly_score for p in after if p.risk_level)
    # The detector goes quiet after its detection while the policy holds the level: the
    # current score falls back, the published peak stays the one that raised the alert.
    at_risk = [p for p in after if p.risk_level]
    assert at_risk[-1].anomaly_score < 0.9
    assert sidecar.sample("foresight_anomaly_score") == pytest.approx(after[-1].anomaly_score)
    if after[-1].risk_level:
        assert sidecar.sample("foresight_anomaly_peak_score") == pytest.approx(peak)
    else:  # once the level falls, there is no alert to quote
        assert sidecar.sample("foresight_anomaly_peak_score") is None


def test_the_peak_is_published_while_at_risk():
    sidecar = Sidecar("1m")
    values = packets(700, fall_at=600)
    sidecar.feed(values[:600])
    scores = []
    for value in values[600:640]:
        (p,) = sidecar.feed([value])
        if p.risk_level:
            scores.append(p.anomaly_score)
            assert sidecar.sample("foresight_anomaly_peak_score") == pytest.approx(max(scores))
        else:
            assert sidecar.sample("foresight_anomaly_peak_score") is None
    assert scores and max(scores) >= 0.9 and scores[-1] < 0.9  # the current score fell back while the alert held


def test_readiness_waits_for_min_history_as_well_as_the_warm_up():
    sidecar = Sidecar("1h")  # 240 points at 15 s, more than the detector's warm-up
    sidecar.feed(packets(WARMUP + 10, fall_at=None))
    assert sidecar.sample("foresight_anomaly_score") is not None  # scores are published ...
    assert sidecar.sample("foresight_predictor_ready", {"predictor": "packets"}) == 0  # ... alerts not yet
    sidecar.feed(packets(250, fall_at=None)[WARMUP + 10:])
    assert sidecar.sample("foresight_predictor_ready", {"predictor": "packets"}) == 1


def test_detector_readiness_and_none_until_then():
    detector = StreamingDetector(DetectorSettings(warmup_rows=20))
    scores = [detector.update(T0 + STEP * i, float(i % 5)) for i in range(25)]
    assert scores[:20] == [None] * 20 and all(s is not None for s in scores[20:])
    assert detector.ready and detector.rows_seen == 25


def sparse_counts(seed: int, days: float = 2.0, surge_rows: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Errors per second from a count per 15 s step of about 0.7 (busier by day), as a
    service's failed requests: half the steps are 0. The last `surge_rows` steps fail ten
    times as often."""
    rng = np.random.default_rng(seed)
    rows = int(days * 86400 / STEP)
    t = T0 + STEP * np.arange(rows)
    mean = 0.7 * (1.0 + 0.6 * (0.5 - 0.5 * np.cos(2 * np.pi * (t - 4 * 3600) / 86400)))
    if surge_rows:
        mean[-surge_rows:] *= 10.0
    return t, rng.poisson(mean) / STEP


@pytest.mark.parametrize("seed", range(5))
def test_sparse_counts_do_not_reach_the_alert_threshold(seed):
    detector = StreamingDetector()
    t, v = sparse_counts(seed)
    scores = [s for s in (detector.update(a, b) for a, b in zip(t, v)) if s is not None]
    assert max(scores) < 0.9


def test_a_surge_in_sparse_counts_does():
    """The tails stay sharp for a real surge. The quiet period is off here: a surge whose
    first row scores between `alarm_level` and the policy's threshold opens one, and the
    stronger rows in its first `quiet_rows` are not scored (the detector's one-alarm rule,
    tuned on NAB; `quiet_breakthrough` lets them through only after that)."""
    no_quiet = DetectorSettings(quiet_rows=0, quiet_max_rows=0, quiet_share_of_seen=0.0)
    for seed in range(5):
        detector = StreamingDetector(no_quiet)
        t, v = sparse_counts(seed, surge_rows=40)
        scores = [detector.update(a, b) for a, b in zip(t, v)]
        assert max(scores[-40:]) >= 0.9
        assert max(s for s in scores[:-40] if s is not None) < 0.9


def test_a_rare_non_zero_score_is_not_ten_sigma():
    """After thousands of zeros, one small non-zero raw score is unusual, not 1e-23; a huge one still is."""
    zero_heavy, gaussian = (TailLikelihood(5, 4000, 0.02, zero_heavy=flag) for flag in (True, False))
    for _ in range(5000):
        zero_heavy.update(0.0), gaussian.update(0.0)
    assert gaussian.update(1.0) < 1e-20
    assert 1e-4 < zero_heavy.update(1.0) < 1e-2  # about 5 rows x a rate of 1 in 4000
    big = TailLikelihood(3, 4000, 0.02, zero_heavy=True)
    for i in range(5000):
        big.update(0.3 if i % 500 == 0 else 0.0)  # small non-zero scores now and then
    assert big.update(50.0) < 1e-12
    assert big.update(None) == 1.0  # a check with nothing to say


def test_a_first_non_zero_score_after_a_long_calm_reaches_the_alarm_tail_and_no_further():
    """The two-part tail tempers a Gaussian tail that is past the alarm down to the alarm
    tail, not beyond: a step never seen before is an alarm, not an alert."""
    alarm_tail = 1e-5
    tail = TailLikelihood(5, 4000, 0.02, zero_heavy=True, alarm_tail=alarm_tail)
    plain = TailLikelihood(5, 4000, 0.02, zero_heavy=True)
    for _ in range(5000):
        tail.update(0.0), plain.update(0.0)
    assert plain.update(1.0) > 1e-4  # the two-part tail alone: about 5 rows x 1 in 4000
    assert tail.update(1.0) == alarm_tail  # the Gaussian tail (1e-23) is tempered only this far
    moderate = TailLikelihood(3, 4000, 0.02, zero_heavy=True, alarm_tail=alarm_tail)
    for i in range(5000):
        moderate.update(0.3 if i % 50 == 0 else 0.0)
    assert alarm_tail < moderate.update(0.3)  # non-zero scores are common here: no alarm
    assert moderate.update(500.0) < alarm_tail  # a huge one goes past it on the two-part tail's own evidence


def noise_scores(seed: int, settings: DetectorSettings | None = None) -> np.ndarray:
    """Three days of Gaussian noise at 15 s through one detector; the scores after the warm-up."""
    rng = np.random.default_rng(seed)
    rows = 3 * 86400 // int(STEP)
    detector = StreamingDetector(settings)
    scores = [detector.update(T0 + STEP * i, x) for i, x in enumerate(rng.normal(0.0, 1.0, rows))]
    return np.array(scores[WARMUP:], dtype=float)


def test_gaussian_noise_for_3_days_at_15s_does_not_reach_a_high_score(monkeypatch):
    """Plain noise makes a new highest value or a new pair of values every few hours by
    chance; that may reach the alarm level, never the policy's alert threshold (0.9)."""
    for seed in (0, 1):
        assert noise_scores(seed).max() < 0.9
    # Without the two-part tail the same noise scores 1.0 (the test can fail).
    monkeypatch.setattr(univariate, "ZERO_HEAVY", ())
    assert noise_scores(0).max() >= 0.9


def test_a_slowdown_whose_first_alarm_is_below_the_alert_level_still_reaches_it():
    """Latency climbing over an hour: the score passes the alarm level (0.45) on the way,
    which opens a quiet period; the stronger scores after its first `quiet_rows` still
    get through (`quiet_breakthrough`), so the policy's 0.9 is reached."""
    rng = np.random.default_rng(1)
    rows = 2 * 5760
    t = T0 + STEP * np.arange(rows)
    ramp = np.clip((np.arange(rows) - (rows - 400)) / 240.0, 0.0, None) ** 2
    values = (1.0 + 0.2 * np.sin(2 * np.pi * t / 86400.0) + rng.normal(0.0, 0.03, rows)) * (1.0 + ramp)

    def climb(settings: DetectorSettings) -> np.ndarray:
        detector = StreamingDetector(settings)
        return np.array([detector.update(a, b) for a, b in zip(t, values)][-400:], dtype=float)

    default = climb(DetectorSettings())
    first = int(np.argmax(default >= DetectorSettings().alarm_level))
    assert default[first] < 0.9 and default[first + 1:].max() >= 0.9
    off = climb(DetectorSettings(quiet_breakthrough=DetectorSettings().alarm_level))  # the old rule
    assert off[first] == default[first] and off[first + 1:].max() < 0.9
