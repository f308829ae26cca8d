"""False anomaly alerts on loadgen's healthy days: the demo's data path without the servers.

`foresight demo` sends two healthy days of loadgen telemetry, then plays a scenario. This
replays the same OTLP payloads (loadgen's Timeline and encoder, 5-minute flushes as its
unpaced player sends them) through `foresight.runtime.Engine.ingest`, evaluates after
every flush as the sidecar does after a Kafka poll, and counts each anomaly predictor's
alert episodes with the generated rules' `for:` (runtime.alert_episodes) on event time.
An episode that starts before the scenario's start, or before its first failure's ramp,
is a false alert. Faster than the demo (no Prometheus or Alertmanager), and it covers
many seeds; `foresight demo --seed N` checks the same on the real stack.

usage: python bench/anomaly/healthy_days.py [--scenario memory-leak] [--seeds 1 2 3]
           [--history 2d] [--duration 12h] [--config predictors/config/predictors.yaml] [--kinds anomaly]
"""
import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from loadgen import otlp
from loadgen.registry import get_scenario
from loadgen.series import Timeline
from loadgen.timeparse import parse_duration, parse_start
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics

from foresight.config import Config, load_config
from foresight.runtime.alert_episodes import AlertReplay
from foresight.runtime.engine import Engine

REPO = Path(__file__).resolve().parents[2]
DEFAULT_START = "2026-01-01T00:00:00Z"  # loadgen's default, as the demo plays it
FLUSH = 300  # simulated seconds per OTLP export of the unpaced history (loadgen.player)


def replay(config: Config, scenario: str, seed: int, history: int, duration: int, step: int = 15,
           start: int | None = None) -> dict:
    """Alert episodes and peak scores of one run: {'episodes': [...], 'peaks': {key: (score, time)}, ...}."""
    start = parse_start(DEFAULT_START) if start is None else start
    plan = get_scenario(scenario)
    engine = Engine(config)
    alerts = AlertReplay(config.predictors)
    timeline = Timeline(plan, start, step, seed, first=start - history)
    total = (history + duration) // step
    peaks: dict = {}
    unscored = Counter()  # evaluations without a score (warming up), per predictor
    done = 0
    while done < total:
        batch = timeline.next_batch(min(FLUSH // step, total - done))
        done += len(batch.times)
        payload = encode_metrics(otlp.metrics_data(batch, start - history)).SerializeToString()
        engine.ingest("metrics", payload)
        predictions = engine.evaluate()
        now = float(batch.times[-1])
        alerts.observe(now, predictions, engine.withdrawn)
        for p in predictions:
            if p.anomaly_score is None:
                unscored[p.predictor] += 1
            elif p.anomaly_score > peaks.get(p.key, (-1.0, 0.0))[0]:
                peaks[p.key] = (p.anomaly_score, p.timestamp)
    failures = [f.time for f in plan.failures(start, start + duration, seed)]
    return {"episodes": alerts.episodes, "peaks": peaks, "unscored": unscored, "start": start,
            "failures": failures}


def healthy_until(result: dict, scenario: str) -> float:
    """Event time up to which every alert is false: the scenario's start (its faults come
    later), or for the healthy-day scenario its whole run."""
    return float("inf") if scenario == "healthy-day" else float(result["start"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="memory-leak")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--history", default="2d", help="healthy days sent first (the demo: 2d)")
    parser.add_argument("--duration", default="12h", help="the scenario's length (the demo: 12h)")
    parser.add_argument("--config", type=Path, default=REPO / "predictors" / "config" / "predictors.yaml")
    parser.add_argument("--kinds", nargs="+", default=["anomaly"], help="predictor kinds to run")
    args = parser.parse_args(argv)
    full = load_config(args.config)
    config = Config(full.source, [p for p in full.predictors if p.kind in args.kinds])
    false_alerts = 0
    for seed in args.seeds:
        started = time.perf_counter()
        result = replay(config, args.scenario, seed, parse_duration(args.history), parse_duration(args.duration))
        limit = healthy_until(result, args.scenario)
        false = [e for e in result["episodes"] if e.start < limit]
        false_alerts += len(false)
        print(f"seed {seed}: {len(result['episodes'])} alert episode(s), {len(false)} before the scenario's "
              f"start ({time.perf_counter() - started:.0f} s)")
        for e in result["episodes"]:
            when = "healthy" if e.start < limit else "scenario"
            print(f"  [{when}] {e.predictor} {e.labels} at {e.start - result['start']:+.0f} s: {e.why}")
        top = sorted(result["peaks"].items(), key=lambda kv: -kv[1][0])[:8]
        for key, (score, t) in top:
            print(f"  peak {score:.3f} at {t - result['start']:+.0f} s: {key[0]} {dict(key[1])}")
    print(f"false alert episodes over {len(args.seeds)} seed(s): {false_alerts}")
    return 1 if false_alerts else 0


if __name__ == "__main__":
    sys.exit(main())
