#!/usr/bin/env python3
"""Ingest throughput: Foresight's decode -> store against the raw protobuf parse of the same payloads.

  python bench/scale/ingest.py [--scrapes 40] [--hosts 20] [--hosts-per-message 5] [--reps 5] [--out DIR]
                               [--before JSON] [--json FILE --commit C] [--no-write]

Three measures over the same messages (payloads.py), interleaved within each repetition so
a noisy, shared machine slows them alike; medians are reported:
- raw: `ExportMetricsServiceRequest.ParseFromString` and a walk over every data point
  (its value, timestamp, attribute keys and values, a histogram's counts and bounds);
- Foresight, repo config: `Engine.decode` + `Engine.take` into a fresh engine built from
  predictors/config/predictors.yaml (it selects the services' series, not node_exporter's);
- Foresight, every series: the same with one predictor per metric name in the payloads,
  so every point is decoded, named, labelled and stored.
Points are OTLP data points (a histogram data point is one); points per second per core
is points / CPU seconds of this (single-threaded) process.
"""
import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest  # noqa: E402

import payloads  # noqa: E402


def raw_walk(payload: bytes) -> int:
    """Parse and read every data point; returns the data points read."""
    req = ExportMetricsServiceRequest()
    req.ParseFromString(payload)
    n = 0
    for rm in req.resource_metrics:
        for kv in rm.resource.attributes:
            kv.key, getattr(kv.value, kv.value.WhichOneof("value") or "string_value")
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                metric.name, metric.unit
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                for dp in getattr(metric, kind).data_points:
                    dp.time_unix_nano, dp.flags
                    for kv in dp.attributes:
                        kv.key, getattr(kv.value, kv.value.WhichOneof("value") or "string_value")
                    if kind in ("gauge", "sum"):
                        getattr(dp, dp.WhichOneof("value") or "as_double")
                    elif kind == "histogram":
                        dp.count, dp.sum, list(dp.bucket_counts), list(dp.explicit_bounds)
                    else:
                        dp.count, dp.sum
                    n += 1
    return n


def every_series_config(messages: list[bytes]) -> str:
    """One anomaly predictor per metric name in the payloads: every point is wanted."""
    from foresight.sources.otlp import decode_metrics

    names = sorted({p.metric for m in messages for p in decode_metrics(m).points})
    return "predictors:\n" + "".join(f"  - name: p{i}\n    kind: anomaly\n    series: {name}\n"
                                     for i, name in enumerate(names))


def _timed(fn) -> tuple[float, float]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def run(scrapes: int, hosts: int, per_message: int, reps: int, out: Path | None, warm: int = 4,
        before: dict | None = None) -> dict:
    """`warm` scrapes go into each fresh engine untimed (its series are made then, timed apart
    as `first`); the rest, the steady state, are timed against the raw walk of the same messages."""
    from foresight.config import load_config, parse_config
    from foresight.runtime.engine import Engine

    messages = payloads.messages(scrapes, hosts, per_message)
    per_scrape = len(messages) // scrapes
    first, timed = messages[:warm * per_scrape], messages[warm * per_scrape:]
    points = sum(raw_walk(m) for m in timed)
    first_points = sum(raw_walk(m) for m in first)
    configs = {"repo": load_config(REPO / "predictors" / "config" / "predictors.yaml"),
               "every": parse_config(every_series_config(messages), "every-series.yaml")}
    stored = {}

    def feed(engine, batch):
        def go():
            for m in batch:
                engine.take("metrics", engine.decode("metrics", m))
        return go

    times = {"raw": [], "repo": [], "every": []}
    first_times = {"repo": [], "every": []}
    for _ in range(reps):
        times["raw"].append(_timed(lambda: [raw_walk(m) for m in timed]))
        for name in ("repo", "every"):
            engine = Engine(configs[name])
            first_times[name].append(_timed(feed(engine, first)))
            times[name].append(_timed(feed(engine, timed)))
            stored[name] = (len(engine.store.windows), engine.accepted["metrics"], dict(engine.bad_input()))
    med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v)) for k, v in times.items()}
    result = {
        "messages": len(messages), "bytes": sum(map(len, messages)), "data_points": points + first_points,
        "timed_data_points": points, "scrapes": scrapes, "warm_scrapes": warm, "hosts": hosts,
        "hosts_per_message": per_message, "reps": reps,
        "cpu_seconds": {k: [round(c, 4) for c, _ in v] for k, v in times.items()},
        "points_per_cpu_second": {k: round(points / c) for k, (c, _) in med.items()},
        "points_per_wall_second": {k: round(points / w) for k, (_, w) in med.items()},
        "ratio_to_raw": {k: round(med["raw"][0] / med[k][0], 3) for k in ("repo", "every")},
        "first_scrapes_points_per_cpu_second": {
            k: round(first_points / statistics.median(c for c, _ in v)) for k, v in first_times.items()},
        "series_stored": {k: v[0] for k, v in stored.items()},
        "points_accepted": {k: v[1] for k, v in stored.items()},
        "bad_input": {k: v[2] for k, v in stored.items()},
    }
    if before:
        result["before"] = {k: before[k] for k in ("commit", "points_per_cpu_second", "ratio_to_raw")}
    if out is not None:
        write(result, out)
    return result


def write(result: dict, out: Path):
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale-ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "scale-ingest.md").write_text(report(result))


def report(r: dict) -> str:
    pps, wall, ratio = r["points_per_cpu_second"], r["points_per_wall_second"], r["ratio_to_raw"]
    before = r.get("before")
    rows = [("raw protobuf parse + walk", "raw", "100%"),
            ("Foresight decode + take, repo config", "repo", f"{ratio['repo']:.0%}"),
            ("Foresight decode + take, every series selected", "every", f"{ratio['every']:.0%}")]
    lines = [
        "# Ingest throughput (decode -> store, one core)", "",
        f"{r['messages']} OTLP metric messages ({r['bytes'] / 1e6:.1f} MB, {r['data_points']} data points): "
        f"{r['scrapes']} scrapes 15 s apart of loadgen's services (memory-leak scenario, the OpenTelemetry "
        f"SDK's encoder) and of {r['hosts']} node_exporter hosts through the collector's Prometheus receiver "
        f"({len(payloads.HOST_SERIES)} series per host, {r['hosts_per_message']} hosts per message). "
        f"Each repetition builds a fresh engine and feeds it the first {r['warm_scrapes']} scrapes untimed "
        f"(every series is made then: its own row below), then times the other "
        f"{r['scrapes'] - r['warm_scrapes']} scrapes ({r['timed_data_points']} data points), the steady state, "
        f"against the raw walk of the same messages. Medians of {r['reps']} interleaved repetitions; points "
        f"per second per core = data points / CPU seconds of the process (one thread). Made by "
        f"`python bench/scale/ingest.py`.", "",
        "| path | points/s per core | points/s wall | share of raw | series stored |",
        "|---|---|---|---|---|",
    ]
    for label, key, share in rows:
        stored = r["series_stored"].get(key, "")
        lines.append(f"| {label} | {pps[key]:,} | {wall[key]:,} | {share} | {stored} |")
    if before:
        lines += ["", f"Before this change (commit {before['commit']}, the same benchmark in a separate run on "
                      f"the same machine: `--before`): raw {before['points_per_cpu_second']['raw']:,} points/s; "
                      f"repo config {before['points_per_cpu_second']['repo']:,} "
                      f"({before['ratio_to_raw']['repo']:.0%} of raw); every series "
                      f"{before['points_per_cpu_second']['every']:,} ({before['ratio_to_raw']['every']:.0%} of raw)."]
    firsts = r["first_scrapes_points_per_cpu_second"]
    lines += ["", f"First {r['warm_scrapes']} scrapes of a fresh engine (series made, selectors asked once per "
                  f"series): repo config {firsts['repo']:,} points/s, every series {firsts['every']:,} points/s.",
              "", f"Target: Foresight >= 50% of raw. Met: repo config "
                  f"{'yes' if ratio['repo'] >= 0.5 else 'no'}, every series {'yes' if ratio['every'] >= 0.5 else 'no'}.",
              "", "CPU seconds per repetition: " + "; ".join(
                  f"{k} {', '.join(f'{c:.3f}' for c in v)}" for k, v in r["cpu_seconds"].items()), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scrapes", type=int, default=40, help="15 s scrapes (default %(default)s)")
    p.add_argument("--hosts", type=int, default=20, help="node_exporter hosts (default %(default)s)")
    p.add_argument("--hosts-per-message", type=int, default=5, help="(default %(default)s)")
    p.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default %(default)s)")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "bench-results", help="(default %(default)s)")
    p.add_argument("--no-write", action="store_true", help="print only")
    p.add_argument("--before", type=Path, metavar="JSON", help="a result of the code before a change (run with "
                   "PYTHONPATH=<its predictors/src> --no-write --json FILE), shown beside this one")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the result here")
    p.add_argument("--commit", default="", help="with --json: the commit the result is of")
    a = p.parse_args(argv)
    before = json.loads(a.before.read_text()) if a.before else None
    r = run(a.scrapes, a.hosts, a.hosts_per_message, a.reps, None, before=before)
    if a.json:
        a.json.write_text(json.dumps(dict(r, commit=a.commit), indent=2) + "\n")
    if not a.no_write:
        write(r, a.out)
    print(json.dumps({k: r[k] for k in ("data_points", "points_per_cpu_second", "ratio_to_raw", "series_stored")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
