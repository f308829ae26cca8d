#!/usr/bin/env python3
"""Hostile input through the real broker into the real sidecar.

  python bench/fuzz/fuzz.py [-n 1000000] [--seed 1] [--max-series 20000] [--max-rss-mb 1500] [--out DIR]

Starts a Kafka API broker (tansu) and `foresight run` (the repo's predictors.yaml) as a
subprocess, sends N messages made by mutate.py to the otlp_* topics, waits until the
sidecar's consumer group has committed every message, and then checks:
- the sidecar never exited and answered /healthz throughout, and exits cleanly on SIGTERM;
- every message is accounted for: the producer refuses those over the broker's limit
  (counted here, by kind); every other one is in the topics and committed by the group;
  the sidecar's `foresight_bad_input_total` equals, reason by reason, what the same decoders
  count on the same payloads here; and every point those decoders give is either accepted
  (`foresight_points_ingested_total`) or dropped by the store and counted (future,
  out_of_order, duplicate);
- its peak RSS stays under --max-rss-mb.
Writes fuzz.md and fuzz.json to --out (none with --no-write).
"""
import argparse
import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import mutate  # noqa: E402

TOPICS = {"metrics": "otlp_metrics", "logs": "otlp_logs", "traces": "otlp_traces"}
DECODE_REASONS = ("malformed_protobuf", "undecodable", "unknown_metric_type", "non_finite_value", "too_many_labels",
                  "label_too_long", "timestamp_out_of_range")
STORE_REASONS = ("future", "out_of_order", "duplicate", "unreadable_point")
BROKER_LIMIT = 1 << 20  # Kafka's default message.max.bytes is 1 MiB (1048588 with the batch header)


class Sidecar:
    """`foresight run` in a process of its own, watched for exits, /healthz and memory."""

    def __init__(self, bootstrap: str, workdir: Path, max_series: int):
        from foresight_dev.devstack.processes import Process, free_port, python_script

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process("foresight", [
            python_script("foresight"), "run", "-c", str(REPO / "predictors" / "config" / "predictors.yaml"),
            "--kafka-bootstrap", bootstrap, "--consumer-group", "fuzz", "--listen", f"127.0.0.1:{self.port}",
            "--max-series", str(max_series), "--log-level", "WARNING"], workdir)
        self.process.wait_http(self.url + "/healthz", timeout=60)
        self.unhealthy = 0
        self.rss_samples: list[tuple[float, float]] = []  # (seconds since start, MB)
        self.started = time.monotonic()

    def status(self, field: str) -> float:
        """VmRSS or VmHWM of the process, in MB."""
        for line in Path(f"/proc/{self.process.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def check(self):
        if not self.process.alive():
            raise SystemExit(f"the sidecar exited with code {self.process.proc.returncode}:\n"
                             f"{self.process.log_tail(40)}")
        try:
            if requests.get(self.url + "/healthz", timeout=5).status_code != 200:
                self.unhealthy += 1
        except requests.RequestException:
            self.unhealthy += 1
        self.rss_samples.append((round(time.monotonic() - self.started, 1), round(self.status("VmRSS"), 1)))

    def metrics(self) -> dict:
        from prometheus_client.parser import text_string_to_metric_families

        out = {}
        for family in text_string_to_metric_families(requests.get(self.url + "/metrics", timeout=10).text):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    def stop(self) -> int:
        os.killpg(self.process.proc.pid, signal.SIGTERM)
        return self.process.proc.wait(60)


def committed(bootstrap: str) -> tuple[int, int]:
    """(messages the group `fuzz` committed, the topics' end offsets), over every partition. The
    broker's acknowledgements count what is in the topics: tansu's end offsets can lag them."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="fuzz", enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in TOPICS.values() for p in consumer.partitions_for_topic(t) or ()]
        ends = consumer.end_offsets(partitions)
        return sum(consumer.committed(tp) or 0 for tp in partitions), sum(ends.values())
    finally:
        consumer.close()


def produce(n: int, seed: int, bootstrap: str, sidecar: Sidecar, engine) -> dict:
    """Send n messages; decode each here too, for the accounting. Returns the tallies."""
    from kafka import KafkaProducer
    from kafka.errors import MessageSizeTooLargeError

    mutator = mutate.Mutator(seed, BROKER_LIMIT)
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=BROKER_LIMIT, linger_ms=20,
                             batch_size=1 << 18, acks=1)
    kinds, refused, failed, whole, points = Counter(), Counter(), Counter(), Counter(), Counter()
    sent_bytes, last_check, acked = 0, time.monotonic(), Counter()

    def lost(exc, kind):
        failed[f"{kind}: {type(exc).__name__}"] += 1

    def stored(metadata):
        acked["messages"] += 1

    for i in range(n):
        signal_name, payload, kind = mutator.message(i)
        kinds[kind] += 1
        try:
            future = producer.send(TOPICS[signal_name], payload)
        except MessageSizeTooLargeError:
            refused[kind] += 1
            continue
        future.add_callback(stored)
        future.add_errback(lost, kind)
        sent_bytes += len(payload)
        before = dict(engine.decode_bad)
        decoded = engine.decode(signal_name, payload)
        points[signal_name] += len(decoded.points)
        for reason in ("malformed_protobuf", "undecodable"):
            if engine.decode_bad.get(reason, 0) > before.get(reason, 0):
                whole[kind] += 1
        if time.monotonic() - last_check > 2:
            sidecar.check()
            last_check = time.monotonic()
    producer.flush(120)
    producer.close()
    return {"kinds": kinds, "refused": refused, "failed": failed, "whole_message_drops": whole,
            "points": points, "bytes": sent_bytes, "acked": acked["messages"]}


def run(n: int, seed: int, max_series: int, max_rss_mb: float, workdir: Path, timeout: float = 3600) -> dict:
    from foresight.config import load_config
    from foresight.runtime.engine import Engine
    from foresight_dev.devstack.stack import LocalStack

    engine = Engine(load_config(REPO / "predictors" / "config" / "predictors.yaml"))  # the same decoders, here
    assert mutate.BOMB_METRIC in engine.metric_names, "the cardinality bomb must hit a series a predictor reads"
    with LocalStack(workdir, REPO) as stack:
        bootstrap = stack.start_kafka(partitions=1)
        sidecar = Sidecar(bootstrap, workdir, max_series)
        try:
            started = time.monotonic()
            tally = produce(n, seed, bootstrap, sidecar, engine)
            produced_s = time.monotonic() - started
            deadline = started + timeout
            while True:
                sidecar.check()
                done, end = committed(bootstrap)
                if done >= tally["acked"] or time.monotonic() > deadline:
                    break
                time.sleep(1)
            elapsed = time.monotonic() - started
            time.sleep(2)  # the publish after the last evaluation
            sidecar.check()
            scraped = sidecar.metrics()
            peak = sidecar.status("VmHWM")
            exit_code = sidecar.stop()
        finally:
            sidecar.process.stop()  # after a failure too (SIGTERM, then SIGKILL)
    return report(n, tally, scraped, engine, sidecar, done, end, elapsed, produced_s, peak, exit_code, max_rss_mb,
                  max_series)


def report(n, tally, scraped, engine, sidecar, done, end, elapsed, produced_s, peak, exit_code, max_rss_mb,
           max_series) -> dict:
    def metric(name, **labels):
        return scraped.get((name, tuple(sorted(labels.items()))), 0.0)

    bad = {reason: metric("foresight_bad_input_total", reason=reason) for reason in
           {labels[0][1] for (name, labels) in scraped if name == "foresight_bad_input_total"}}
    accepted = {s: metric("foresight_points_ingested_total", signal=s) for s in TOPICS}
    refused = sum(tally["refused"].values())
    decode_expected = {r: engine.decode_bad.get(r, 0) for r in DECODE_REASONS}
    points_expected = sum(tally["points"].values())
    points_seen = sum(accepted.values()) + sum(bad.get(r, 0) for r in STORE_REASONS)
    rss = [mb for _, mb in sidecar.rss_samples]
    checks = {
        "sidecar never exited, and exited 0 on SIGTERM": exit_code == 0,
        "sidecar answered /healthz every time": sidecar.unhealthy == 0,
        "every message the producer did not refuse acknowledged by the broker":
            not tally["failed"] and tally["acked"] == n - refused,
        "every acknowledged message committed by the sidecar's group": done == tally["acked"],
        "bad input by reason equals the decoders' count": all(bad.get(r, 0) == v for r, v in decode_expected.items()),
        "every decoded point accepted or counted by the store": points_seen == points_expected,
        f"peak RSS under {max_rss_mb:.0f} MB": peak < max_rss_mb,
    }
    return {
        "messages": n, "seconds": round(elapsed, 1), "messages_per_second": round((n - refused) / elapsed, 1),
        "production_seconds": round(produced_s, 1), "bytes_sent": tally["bytes"], "max_series": max_series,
        "kinds": dict(tally["kinds"]), "refused_by_producer": dict(tally["refused"]),
        "delivery_failures": dict(tally["failed"]), "whole_message_drops": dict(tally["whole_message_drops"]),
        "acknowledged": tally["acked"], "end_offsets": end, "committed": done,
        "bad_input_total": dict(sorted(bad.items())), "bad_input_expected": decode_expected,
        "points_decoded": dict(tally["points"]), "points_accepted": accepted, "points_accounted": points_seen,
        "series_tracked": metric("foresight_series_tracked"),
        "series_evicted": {r: metric("foresight_series_evicted_total", reason=r) for r in ("idle", "max_series")},
        "peak_rss_mb": round(peak, 1), "rss_mb_first_last": [rss[0], rss[-1]] if rss else [],
        "rss_samples": sidecar.rss_samples[:: max(1, len(sidecar.rss_samples) // 60)],
        "unhealthy_checks": sidecar.unhealthy, "exit_code": exit_code, "checks": checks, "passed": all(checks.values()),
    }


def markdown(r: dict) -> str:
    lines = [
        "# Fuzz: hostile OTLP through the broker into the sidecar", "",
        f"{r['messages']:,} messages ({r['bytes_sent'] / 1e6:,.0f} MB sent) mutated from real OTLP payloads "
        f"(bench/fuzz/mutate.py) through a Kafka API broker (tansu) into `foresight run` with the repo's "
        f"predictors.yaml and `--max-series {r['max_series']}`. Made by `make fuzz` "
        f"(`python bench/fuzz/fuzz.py`).", "",
        f"- {r['messages_per_second']:,} messages/s end to end ({r['seconds']} s until every message was committed; "
        f"production took {r['production_seconds']} s on the same 2 cores)",
        f"- peak RSS of the sidecar {r['peak_rss_mb']:,} MB (first and last sample: "
        f"{' and '.join(f'{x:,} MB' for x in r['rss_mb_first_last'])})",
        f"- series held at the end {r['series_tracked']:,.0f}; evicted: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in r["series_evicted"].items()), "",
        "| check | passed |", "|---|---|",
    ] + [f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in r["checks"].items()] + [
        "", "## Messages by mutation", "",
        "| kind | messages | refused by the producer (over 1 MiB) | dropped whole by the sidecar |", "|---|---|---|---|",
    ] + [f"| {k} | {v:,} | {r['refused_by_producer'].get(k, 0):,} | {r['whole_message_drops'].get(k, 0):,} |"
         for k, v in sorted(r["kinds"].items(), key=lambda kv: -kv[1])] + [
        "", f"Acknowledged by the broker: {r['acknowledged']:,}; committed by the sidecar's group: "
            f"{r['committed']:,}.", "",
        "## foresight_bad_input_total by reason", "",
        "| reason | sidecar | the same decoders here |", "|---|---|---|",
    ] + [f"| {k} | {v:,.0f} | {format(r['bad_input_expected'][k], ',') if k in r['bad_input_expected'] else ''} |"
         for k, v in r["bad_input_total"].items()] + [
        "", f"Points decoded: {sum(r['points_decoded'].values()):,} "
            f"({', '.join(f'{k} {v:,}' for k, v in r['points_decoded'].items())}); accepted "
            f"{sum(r['points_accepted'].values()):,.0f}; accepted or dropped by the store and counted "
            f"{r['points_accounted']:,.0f}.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--messages", type=int, default=1_000_000, help="messages to send (default %(default)s)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-series", type=int, default=20_000, help="the sidecar's --max-series (default %(default)s)")
    p.add_argument("--max-rss-mb", type=float, default=1500.0, help="peak RSS allowed (default %(default)s)")
    p.add_argument("--work", type=Path, default=Path("/tmp/foresight-fuzz"), help="logs (default %(default)s)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "bench-results")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    a.work.mkdir(parents=True, exist_ok=True)
    r = run(a.messages, a.seed, a.max_series, a.max_rss_mb, a.work)
    if not a.no_write:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "fuzz.json").write_text(json.dumps(r, indent=2) + "\n")
        (a.out / "fuzz.md").write_text(markdown(r))
    print(markdown(r))
    return 0 if r["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
