"""End to end: events per hour that 1, 2 and 4 replicas hold, through the real collector and broker.

Each replica count gets a fresh stack: tansu (the Kafka API broker, `--partitions` per topic),
rotel (the OTLP collector; metrics and logs keyed by resource, traces unkeyed) and N
`foresight run` processes in one consumer group with the repo's predictor config. A fleet of loadgen-shaped services
(e2e_load.py) is posted to rotel's OTLP/HTTP endpoint at an offered rate that rises by
`--ramp` every `--window` seconds (and falls by it while the first windows are not held). A
window is *held* when the replicas' summed `foresight_consumer_lag_messages` does not grow by
more than 5% of the messages the broker received in it, and every replica's
`foresight_points_ingested` went up; the committed offsets are recorded beside it. The held
rate is the highest window held before one that was not.

The baseline, in the same run: the same load as fast as rotel takes it, read by a plain
kafka-python consumer that only reads (the collector and broker alone).

    .venv/bin/python bench/scale/e2e.py            # about 8 minutes; make scale-e2e
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from e2e_load import STEP, Sender, fleet_steps
from e2e_probe import Offsets, PlainReader, sample
from e2e_report import write_report

from foresight_dev.devstack.processes import Process, StackError, free_port, python_script
from foresight_dev.devstack.stack import LocalStack

REPO = Path(__file__).resolve().parents[2]
GROUP = "bench-e2e"


def _stack(workdir: Path, partitions: int) -> tuple[LocalStack, str, str, dict]:
    stack = LocalStack(workdir, REPO)
    bootstrap = stack.start_kafka(partitions=partitions)
    url = stack.start_collector()
    started = {proc.name: proc.proc.pid for proc in stack.processes}
    pids = {"broker (tansu)": started["kafka"], "collector (rotel)": started["collector"]}
    return stack, bootstrap, url, pids


def _cpu_share(s0, s1) -> dict:
    """Each process's CPU use between two samples, in cores (1.0 = one core busy)."""
    dt = s1.at - s0.at
    return {name: round((s1.cpu[name] - s0.cpu[name]) / dt, 3) for name in s0.cpu}


def baseline(args, steps, workdir: Path) -> dict:
    stack, bootstrap, url, pids = _stack(workdir, args.partitions)
    with stack:
        pids["bench (sender + reader)"] = os.getpid()
        reader, sender = PlainReader(bootstrap, args.partitions), Sender(url, steps, cycle=True)
        reader.start()
        sender.start()
        offsets = Offsets(bootstrap, None, args.partitions)
        time.sleep(3)
        s0, read0, sent0 = sample(offsets, pids, []), reader.events(), sender.sent
        time.sleep(args.baseline_seconds)
        s1, read1, sent1 = sample(offsets, pids, []), reader.events(), sender.sent
        sender.stop()
        reader.stop()
        offsets.close()
    dt = s1.at - s0.at
    return {"seconds": round(dt, 1), "offered_events_per_s": round((sent1 - sent0) / dt),
            "read_events_per_s": round((read1 - read0) / dt),
            "messages_per_s": round((s1.produced - s0.produced) / dt), "failed_requests": sender.failed,
            "sender_exhausted": sender.exhausted, "cpu_cores": _cpu_share(s0, s1)}


def _start_replicas(stack: LocalStack, bootstrap: str, count: int, pids: dict) -> list[str]:
    urls = []
    for i in range(count):
        port = free_port()
        proc = Process(f"replica-{i}", [
            python_script("foresight"), "run", "-c", str(REPO / "predictors" / "config" / "predictors.yaml"),
            "--listen", f"127.0.0.1:{port}", "--kafka-bootstrap", bootstrap, "--consumer-group", GROUP,
            "--prometheus-url", "", "--state", "", "--log-level", "WARNING"], stack.workdir)
        stack.processes.append(proc)
        pids[f"replica-{i}"] = proc.proc.pid
        urls.append(f"http://127.0.0.1:{port}")
    for proc, url in zip(stack.processes[-count:], urls):
        proc.wait_http(url + "/readyz", timeout=180)
    return urls


def _judge(samples, offered: float) -> dict:
    s0, s1 = samples[0], samples[-1]
    dt = s1.at - s0.at
    produced, consumed = s1.produced - s0.produced, s1.committed - s0.committed
    lag0, lag1 = s0.produced - s0.committed, s1.produced - s1.committed
    gauge0, gauge1 = sum(r[1] for r in s0.replicas), sum(r[1] for r in s1.replicas)
    fed = all(b[0] > a[0] for a, b in zip(s0.replicas, s1.replicas))
    # The replicas' own lag gauge (messages behind the end, from their read positions) decides;
    # the committed offsets trail it while a replica holds a topic back for event-time order.
    held = produced > 0 and gauge1 - gauge0 <= max(0.05 * produced, 50) and fed
    per_message = offered * dt / produced if produced else 0.0
    return {"offered_events_per_s": round(offered), "seconds": round(dt, 1),
            "messages_per_s": round(produced / dt, 1), "committed_per_s": round(consumed / dt, 1),
            "consumed_events_per_s": round(consumed * per_message / dt),
            "lag_gauge_start": gauge0, "lag_gauge_end": gauge1, "committed_lag_start": lag0, "committed_lag_end": lag1,
            "every_replica_fed": fed, "held": held, "cpu_cores": _cpu_share(s0, s1)}


def phase(args, steps, replicas: int, start_rate: float, workdir: Path) -> dict:
    stack, bootstrap, url, pids = _stack(workdir, args.partitions)
    with stack:
        urls = _start_replicas(stack, bootstrap, replicas, pids)
        pids["bench (sender)"] = os.getpid()
        offsets = Offsets(bootstrap, GROUP, args.partitions)
        sender = Sender(url, steps)
        sender.set_rate(start_rate)
        sender.start()
        time.sleep(args.settle)  # the group's first rebalances, and the first evaluations
        windows, rate = [], start_rate
        while len(windows) < args.max_windows and not sender.exhausted:
            sender.set_rate(rate)
            time.sleep(args.skip)  # the pipeline takes up the new rate
            samples, sent0 = [sample(offsets, pids, urls)], sender.sent
            while time.monotonic() - samples[0].at < args.window - args.skip:
                time.sleep(2.5)
                samples.append(sample(offsets, pids, urls))
            offered = (sender.sent - sent0) / (samples[-1].at - samples[0].at)
            stack.check_alive()
            windows.append(_judge(samples, offered))
            print(f"  {replicas} replica(s): {windows[-1]}", flush=True)
            if windows[-1]["held"]:
                rate *= args.ramp
            elif any(w["held"] for w in windows) or rate < args.start_rate / 2:
                break
            else:  # not held from the start: step down until a rate is
                rate /= args.ramp
        sender.stop()
        offsets.close()
    held = [w for w in windows if w["held"]]
    best = max(held, key=lambda w: w["offered_events_per_s"]) if held else None
    ceiling = windows[-1] if windows and not windows[-1]["held"] else None
    return {"replicas": replicas, "windows": windows, "sender_exhausted": sender.exhausted,
            "held_events_per_s": best["offered_events_per_s"] if best else 0,
            "held_events_per_hour": best["offered_events_per_s"] * 3600 if best else 0,
            "not_held_at_events_per_s": ceiling["offered_events_per_s"] if ceiling else None,
            "consumed_when_not_held_events_per_s": ceiling["consumed_events_per_s"] if ceiling else None,
            "cpu_cores_at_held": best["cpu_cores"] if best else {}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=6, help="copies of loadgen's 5 services (default 6)")
    parser.add_argument("--steps", type=int, default=6000, help="15 s steps encoded up front (default 6000)")
    parser.add_argument("--replicas", default="1,2,4")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--start-rate", type=float, default=4000.0, help="events/s of the first window")
    parser.add_argument("--ramp", type=float, default=1.4)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--skip", type=float, default=4.0, help="seconds after a rate change not judged")
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--max-windows", type=int, default=9)
    parser.add_argument("--baseline-seconds", type=float, default=25.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "bench-results" / "scale-e2e")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"encoding {args.steps} steps of {args.copies * 5} services...", flush=True)
    steps = fleet_steps(args.copies, args.steps)
    result = {"machine": {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
                          "python": platform.python_version(), "load_average_1m_start": round(os.getloadavg()[0], 2)},
              "load": {"services": args.copies * 5, "step_seconds": STEP, "steps": len(steps),
                       "events_per_step": round(sum(sum(s.events.values()) for s in steps) / len(steps), 1),
                       "bytes_per_step": round(sum(sum(map(len, s.bodies.values())) for s in steps) / len(steps))},
              "settings": {k: (os.path.relpath(v, REPO) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="scale-e2e-") as tmp:
        try:
            print("baseline: collector + broker + a plain reader...", flush=True)
            result["baseline"] = baseline(args, steps, Path(tmp) / "baseline")
            print(f"  {result['baseline']}", flush=True)
            result["phases"], rate = [], args.start_rate
            for count in (int(n) for n in args.replicas.split(",")):
                print(f"{count} replica(s)...", flush=True)
                result["phases"].append(phase(args, steps, count, rate, Path(tmp) / f"replicas-{count}"))
                # More replicas start a little below the last held rate, to spend the time near the limit.
                rate = max(args.start_rate, 0.7 * result["phases"][-1]["held_events_per_s"])
        except StackError as exc:
            print(f"scale-e2e: the stack failed: {exc}", file=sys.stderr)
            return 1
    result["wall_seconds"] = round(time.monotonic() - started)
    result["machine"]["load_average_1m_end"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_report(result, args.out.with_suffix(".md"))
    print(f"wrote {args.out.with_suffix('.md')} and .json ({result['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
