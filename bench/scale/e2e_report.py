"""The end-to-end benchmark's page: tables from the run's JSON, and what they predict."""
from pathlib import Path

_PIPE = ("broker (tansu)", "collector (rotel)")


def _replica_cores(cpu: dict) -> float:
    return sum(v for k, v in cpu.items() if k.startswith("replica-"))


def _cores(cpu: dict) -> str:
    parts = [f"{k} {v:.2f}" for k, v in cpu.items() if not k.startswith("replica-") and not k.startswith("machine")]
    replicas = [v for k, v in cpu.items() if k.startswith("replica-")]
    if replicas:
        parts.insert(0, f"replicas {sum(replicas):.2f} ({' + '.join(f'{v:.2f}' for v in replicas)})")
    machine = cpu.get("machine (every process)")
    if machine is not None:
        parts.append(f"whole machine {machine:.2f}")
    return "; ".join(parts)


def prediction(phases: list, cores: int) -> dict | None:
    """Events/s on a larger machine, from the CPU each part spent per event at the best held rate.

    Assumes the costs stay per event (each replica reads its own partitions, no shared
    lock), so a machine with C cores holds about C / (replica + collector + broker CPU
    seconds per event), with at least as many partitions as replicas."""
    best = max((p for p in phases if p["held_events_per_s"]), key=lambda p: p["held_events_per_s"], default=None)
    if not best:
        return None
    rate, cpu = best["held_events_per_s"], best["cpu_cores_at_held"]
    replica = _replica_cores(cpu) / rate
    pipe = sum(cpu.get(k, 0.0) for k in _PIPE) / rate
    per_event = replica + pipe
    return {"from_replicas": best["replicas"], "rate": rate, "replica_cpu_us_per_event": round(replica * 1e6, 1),
            "pipeline_cpu_us_per_event": round(pipe * 1e6, 1),
            "predicted": {c: round(c / per_event) for c in (cores, 8, 16, 32)}}


def write_report(result: dict, path: Path) -> None:
    load, base, machine = result["load"], result["baseline"], result["machine"]
    lines = [
        "# End to end: events per hour held by 1, 2 and 4 replicas",
        "",
        f"Run by `make scale-e2e` (`bench/scale/e2e.py`) on {machine['cores']} cores ({machine['cpu']}), "
        f"{result['wall_seconds']} s. Every figure below is from this one run.",
        "",
        f"Load: {load['services']} loadgen-shaped services (one instance each), metrics + logs + traces, "
        f"{load['events_per_step']} events ({load['bytes_per_step']:,} bytes of OTLP) per {load['step_seconds']} s "
        "step, posted to rotel's OTLP/HTTP endpoint; rotel keys metrics and logs by resource into tansu "
        f"({result['settings']['partitions']} partitions per topic); the replicas are `foresight run` with "
        "`predictors/config/predictors.yaml` in one consumer group. An event is a data point, a log record or a "
        "span. The offered rate rises by "
        f"{result['settings']['ramp']}x every {result['settings']['window']:.0f} s (and falls by it while the first "
        "windows are not held); a window is held when the replicas' summed `foresight_consumer_lag_messages` grows "
        "by at most 5% of the messages the broker got in it and every replica's `foresight_points_ingested` rises. "
        "CPU is in cores (1.00 = one core busy); *whole machine* counts every process on it, other people's work "
        "on this shared machine included.",
        "",
        "| pipeline | held events/s | events/hour held | not held at (events/s) | consumed then (events/s) "
        "| CPU cores at the held rate |",
        "|---|---:|---:|---:|---:|---|",
        f"| baseline: collector + broker + a plain reader (as fast as rotel takes it) | "
        f"{base['read_events_per_s']:,} read | {base['read_events_per_s'] * 3600:,} | – | – | "
        f"{_cores(base['cpu_cores'])} |",
    ]
    for p in result["phases"]:
        not_held = f"{p['not_held_at_events_per_s']:,}" if p["not_held_at_events_per_s"] else "– (load ran out)"
        consumed = f"{p['consumed_when_not_held_events_per_s']:,}" if p["consumed_when_not_held_events_per_s"] \
            else "–"
        lines.append(f"| {p['replicas']} replica(s) | {p['held_events_per_s']:,} | {p['held_events_per_hour']:,} | "
                     f"{not_held} | {consumed} | {_cores(p['cpu_cores_at_held'])} |")
    lines += ["", f"Baseline detail: offered {base['offered_events_per_s']:,} events/s into rotel, "
              f"{base['messages_per_s']:,} Kafka messages/s, {base['failed_requests']} refused requests.", "",
              "Every window: offered events/s; messages/s the broker got; lag gauge at start → end; committed "
              "messages/s and committed lag (end minus committed offsets) at start → end; held or not:", ""]
    for p in result["phases"]:
        cells = [f"{w['offered_events_per_s']:,}: {w['messages_per_s']} msg/s, lag {w['lag_gauge_start']:.0f}→"
                 f"{w['lag_gauge_end']:.0f}, committed {w['committed_per_s']} msg/s "
                 f"({w['committed_lag_start']}→{w['committed_lag_end']}), {'held' if w['held'] else 'NOT held'}"
                 for w in p["windows"]]
        lines.append(f"- {p['replicas']} replica(s): " + "; ".join(cells))
    lines += ["", "## What the 2 cores limit", "",
              "CPU at the first rate not held, in cores: what each part got when the pipeline fell behind.", "",
              "| replicas | offered events/s | replicas | rotel + tansu | sender | other work on the machine "
              "| whole machine |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["phases"]:
        limit = next((w for w in p["windows"] if not w["held"]), None)
        if limit:
            cpu = limit["cpu_cores"]
            ours = sum(v for k, v in cpu.items() if not k.startswith("machine"))
            whole = cpu.get("machine (every process)", float("nan"))
            lines.append(f"| {p['replicas']} | {limit['offered_events_per_s']:,} | {_replica_cores(cpu):.2f} | "
                         f"{sum(cpu.get(k, 0.0) for k in _PIPE):.2f} | {cpu.get('bench (sender)', 0.0):.2f} | "
                         f"{whole - ours:.2f} | {whole:.2f} |")
    pred = prediction(result["phases"], machine["cores"])
    per_event = [f"{p['replicas']} replica(s) "
                 f"{_replica_cores(p['cpu_cores_at_held']) / p['held_events_per_s'] * 1e6:.0f} µs"
                 for p in result["phases"] if p["held_events_per_s"]]
    if pred:
        lines += ["", "## What it predicts", "",
                  "Replica CPU per event at each held rate: " + ", ".join(per_event) + ". Flat across replica "
                  "counts means the replicas add capacity in proportion to the cores they get.", "",
                  f"At the best held rate ({pred['rate']:,} events/s, {pred['from_replicas']} replica(s)) the replicas "
                  f"spent {pred['replica_cpu_us_per_event']} µs of CPU per event and rotel + tansu "
                  f"{pred['pipeline_cpu_us_per_event']} µs. If those costs stay per event, a machine holds about "
                  + ", ".join(f"{v:,} events/s on {c} cores" for c, v in pred["predicted"].items())
                  + " (all cores busy, the sender left out, at least one partition per replica)."]
    path.write_text("\n".join(lines) + "\n")
