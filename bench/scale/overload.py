"""Overload: 10 times the normal load for 10 minutes through the real broker, then normal again.

The load is loadgen's services (the memory-leak scenario's healthy start: metrics, logs and
traces), copied `--copies` times under new service names, one 15 s step at a time, keyed as
the collector keys them (loadgen.kafka_export) and produced straight to the Kafka API broker
(tansu). Normal is one step per 15 s of wall time, as the services would send it; overload
sends `--factor` steps per 15 s. A `foresight run` process with the default predictor config
reads them; every 5 s the bench samples its resident memory (VmRSS) and its
foresight_consumer_lag_messages (all topics). It reports the peak RSS under overload beside
the RSS under normal load, and how long after the overload the lag takes to reach 0.

    python bench/scale/overload.py                       # 2 min normal, 10 min at 10x, up to 5 min normal
    python bench/scale/overload.py --overload 60 --recovery 60 --out /tmp/overload   # a short run
"""
import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from kafka import KafkaProducer
from loadgen import otlp
from loadgen.events import step_events
from loadgen.exporters import Signal
from loadgen.kafka_export import TOPICS, keyed_messages
from loadgen.registry import get_scenario
from loadgen.series import Timeline
from loadgen.traces import step_traces
from opentelemetry.exporter.otlp.proto.common._internal._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from prometheus_client.parser import text_string_to_metric_families

from foresight_dev.devstack.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
START, STEP = 1_767_225_600, 15
SIGNALS = (Signal.METRICS, Signal.LOGS, Signal.TRACES)


@dataclass
class Step:
    messages: list  # (topic, key, payload)
    events: int  # data points, log records and spans


def _rename(resource, copy: int):
    for kv in resource.attributes:
        if kv.key in ("service.name", "service.instance.id"):
            kv.value.string_value = f"{kv.value.string_value}-c{copy}"


def fleet_steps(copies: int, steps: int, seed: int = 1) -> list[Step]:
    """`steps` consecutive 15 s steps of `copies` copies of loadgen's services, encoded once."""
    timeline, ids = Timeline(get_scenario("memory-leak"), START, STEP, seed, first=START), random.Random(seed)
    out = []
    for _ in range(steps):
        batch = timeline.next_batch(1)
        base = {Signal.METRICS: (encode_metrics(otlp.metrics_data(batch, START)), "resource_metrics"),
                Signal.LOGS: (encode_logs(otlp.log_records(step_events(batch, STEP))), "resource_logs"),
                Signal.TRACES: (encode_spans(otlp.spans(step_traces(batch, STEP, seed, ids))), "resource_spans")}
        messages, events = [], 0
        for signal, (request, field_name) in base.items():
            fleet = type(request)()
            for copy in range(copies):
                for item in getattr(request, field_name):
                    new = getattr(fleet, field_name).add()
                    new.CopyFrom(item)
                    _rename(new.resource, copy)
                    if signal is Signal.TRACES:  # each copy's calls are its own
                        for ss in new.scope_spans:
                            for span in ss.spans:
                                span.trace_id = copy.to_bytes(2, "big") + span.trace_id[2:]
            events += _events(signal, fleet)
            messages += [(TOPICS[signal], key, payload) for key, payload in keyed_messages(signal, fleet)]
        out.append(Step(messages, events))
    return out


def _events(signal, request) -> int:
    if signal is Signal.METRICS:
        return sum(len(getattr(m, m.WhichOneof("data")).data_points)
                   for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics)
    if signal is Signal.LOGS:
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


@dataclass
class Phase:
    name: str
    seconds: float
    factor: float  # steps per 15 s of wall time


class Sender(threading.Thread):
    """Produces the steps in order, `factor` steps per 15 s in each phase, then stops."""

    def __init__(self, bootstrap: str, steps: list[Step], phases: list[Phase]):
        super().__init__(daemon=True)
        self.bootstrap, self.steps, self.phases = bootstrap, steps, phases
        self.phase, self.sent_steps, self.sent_events, self.behind = "", 0, 0, 0.0
        self.stop_event = threading.Event()

    def run(self):
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5, max_request_size=8 << 20)
        try:
            for phase in self.phases:
                self.phase, began = phase.name, time.monotonic()
                interval, n = STEP / phase.factor, 0
                while time.monotonic() - began < phase.seconds and not self.stop_event.is_set():
                    due = began + n * interval
                    wait = due - time.monotonic()
                    if wait > 0:
                        self.stop_event.wait(wait)
                    else:
                        self.behind = max(self.behind, -wait)  # the sender itself fell behind
                    step = self.steps[self.sent_steps]
                    for topic, key, payload in step.messages:
                        producer.send(topic, payload, key=key)
                    producer.flush()
                    self.sent_steps += 1
                    self.sent_events += step.events
                    n += 1
            self.phase = "done"
        finally:
            producer.close()


def steps_needed(phases: list[Phase]) -> int:
    return sum(int(p.seconds / STEP * p.factor) + 2 for p in phases)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def scrape(url: str) -> dict:
    """Consumer lag (all topics) and points ingested, from the sidecar's /metrics."""
    text = requests.get(url + "/metrics", timeout=5).text
    lag, ingested = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "foresight_consumer_lag_messages":
                lag += s.value
            elif s.name == "foresight_points_ingested_total":
                ingested += s.value
    return {"lag": lag, "ingested": ingested}


@dataclass
class Result:
    copies: int
    factor: float
    phases: list
    events_per_step: int
    samples: list = field(default_factory=list)  # {t, phase, rss, lag, ingested, sent}
    recovered_after: float | None = None  # seconds after the overload until lag was 0

    def rss(self, phase: str) -> list[int]:
        return [s["rss"] for s in self.samples if s["phase"] == phase]

    def summary(self) -> dict:
        normal, over, after = self.rss("normal"), self.rss("overload"), self.rss("after")
        lags = [s["lag"] for s in self.samples if s["phase"] == "overload"]
        return {
            "copies": self.copies, "services": 5 * self.copies, "factor": self.factor,
            "events_per_second_normal": round(self.events_per_step / STEP, 1),
            "events_per_second_overload": round(self.events_per_step / STEP * self.factor, 1),
            "rss_normal_mb": round(max(normal) / 2**20, 1) if normal else None,
            "rss_overload_peak_mb": round(max(over) / 2**20, 1) if over else None,
            "rss_after_peak_mb": round(max(after) / 2**20, 1) if after else None,
            "lag_overload_peak": max(lags) if lags else None,
            "lag_zero_after_s": self.recovered_after,
            "load1_mean": round(sum(s.get("load1", 0) for s in self.samples) / max(1, len(self.samples)), 1),
        }


def run(copies: int = 20, factor: float = 10.0, normal: float = 120.0, overload: float = 600.0,
        recovery: float = 300.0, sample_every: float = 5.0, stop_when_recovered: bool = False,
        workdir: Path | None = None, log=lambda line: print(line, flush=True)) -> Result:
    phases = [Phase("normal", normal, 1.0), Phase("overload", overload, factor), Phase("after", recovery, 1.0)]
    steps = fleet_steps(copies, steps_needed(phases))
    result = Result(copies, factor, [vars(p) for p in phases], round(sum(s.events for s in steps) / len(steps)))
    log(f"{len(steps)} steps of {copies} copies encoded: {result.events_per_step} events a step")
    with LocalStack(Path(workdir or tempfile.mkdtemp(prefix="overload-")), REPO) as stack:
        bootstrap = stack.start_kafka(partitions=3)
        url = stack.start_predictor(REPO / "predictors" / "config" / "predictors.yaml")
        pid = stack.part("predictor").proc.pid
        sender = Sender(bootstrap, steps, phases)
        began = time.monotonic()
        sender.start()
        overload_end = None
        while sender.is_alive():
            stack.check_alive()
            point = scrape(url)
            sample = {"t": round(time.monotonic() - began, 1), "phase": sender.phase, "rss": rss_bytes(pid),
                      "lag": point["lag"], "ingested": point["ingested"], "sent": sender.sent_events,
                      "load1": float(Path("/proc/loadavg").read_text().split()[0])}  # others' work too
            result.samples.append(sample)
            if sample["phase"] == "after":
                overload_end = overload_end or began + normal + overload
                if result.recovered_after is None and sample["lag"] == 0:
                    result.recovered_after = round(time.monotonic() - overload_end, 1)
                    if stop_when_recovered:
                        sender.stop_event.set()
            log(f"t={sample['t']:6.0f}s {sample['phase']:8} rss={sample['rss'] / 2**20:7.1f} MB "
                f"lag={sample['lag']:6.0f} ingested={sample['ingested']:9.0f} sent={sample['sent']} "
                f"load={sample['load1']}")
            time.sleep(sample_every)
        sender.join()
        result.sender_behind = round(sender.behind, 2)
    return result


def plot(result: Result, path: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s["t"] for s in result.samples]
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(9, 5.5))
    top.plot(t, [s["rss"] / 2**20 for s in result.samples], color="tab:blue")
    top.set_ylabel("sidecar RSS (MB)")
    bottom.plot(t, [s["lag"] for s in result.samples], color="tab:red")
    bottom.set_ylabel("consumer lag (messages)")
    bottom.set_xlabel("seconds")
    for ax in (top, bottom):
        start = result.phases[0]["seconds"]
        ax.axvspan(start, start + result.phases[1]["seconds"], color="0.9")
    top.set_title(f"{result.factor:g}x load (shaded) for {result.phases[1]['seconds']:.0f} s, "
                  f"{5 * result.copies} services")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def report(result: Result, out: Path):
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    out.with_suffix(".json").write_text(json.dumps({"summary": summary, "phases": result.phases,
                                                     "sender_behind_s": result.sender_behind,
                                                     "samples": result.samples}, indent=1))
    plot(result, out.with_suffix(".png"))
    recovered = summary["lag_zero_after_s"]
    lines = [
        "# Overload: 10x the normal load, then normal again",
        "",
        "`make overload` (bench/scale/overload.py): loadgen's five services copied "
        f"{result.copies} times ({summary['services']} services), produced keyed by resource to the "
        "Kafka API broker (tansu), read by one `foresight run` with the default predictor config. "
        f"Normal: one 15 s step per 15 s ({summary['events_per_second_normal']} events/s: data points, "
        f"log records, spans); overload: {result.factor:g} steps per 15 s "
        f"({summary['events_per_second_overload']} events/s) for {result.phases[1]['seconds']:.0f} s; then "
        f"normal for up to {result.phases[2]['seconds']:.0f} s. Sampled every 5 s: the sidecar's VmRSS "
        "and foresight_consumer_lag_messages summed over the topics. Each step is 15 s of event time, so "
        f"under overload event time runs {result.factor:g} times faster and the windows take in "
        f"{result.phases[1]['seconds'] * result.factor / 60:.0f} minutes of data in "
        f"{result.phases[1]['seconds'] / 60:.0f}.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| RSS under normal load (peak of the first {result.phases[0]['seconds']:.0f} s) | "
        f"{summary['rss_normal_mb']} MB |",
        f"| RSS peak under overload | {summary['rss_overload_peak_mb']} MB |",
        f"| RSS peak after the overload | {summary['rss_after_peak_mb']} MB |",
        f"| consumer lag peak under overload | {summary['lag_overload_peak']:.0f} messages |",
        "| lag back to 0 after the overload ended | "
        + (f"{recovered:.0f} s |" if recovered is not None else
           f"not within {result.phases[2]['seconds']:.0f} s |"),
        f"| the sender's own worst delay behind its schedule | {result.sender_behind} s |",
        f"| machine load average (1 min) during the run, mean | {summary['load1_mean']} on "
        f"{os.cpu_count()} cores |",
        "",
        f"![RSS and lag]({out.with_suffix('.png').name})",
        "",
        "Every third sample (all of them in the .json):",
        "",
        "| t (s) | phase | RSS (MB) | lag |",
        "|---:|---|---:|---:|",
    ]
    lines += [f"| {s['t']:.0f} | {s['phase']} | {s['rss'] / 2**20:.1f} | {s['lag']:.0f} |"
              for s in result.samples[::3]]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20, help="copies of loadgen's 5 services (default 20)")
    parser.add_argument("--factor", type=float, default=10.0, help="overload, times the normal rate (default 10)")
    parser.add_argument("--normal", type=float, default=120.0, help="seconds of normal load first (default 120)")
    parser.add_argument("--overload", type=float, default=600.0, help="seconds of overload (default 600)")
    parser.add_argument("--recovery", type=float, default=300.0,
                        help="seconds of normal load after, at most (default 300)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "bench-results" / "overload",
                        help="results: OUT.md, OUT.json, OUT.png")
    args = parser.parse_args(argv)
    result = run(args.copies, args.factor, args.normal, args.overload, args.recovery)
    report(result, args.out)
    print(json.dumps(result.summary(), indent=1))
    return 0 if result.recovered_after is not None else 1


if __name__ == "__main__":
    sys.exit(main())
