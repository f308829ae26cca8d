"""Scoring crash runs: warned before the crash, and false alerts before the fault.

An alert episode is one alert on one series (Foresight: one predictor's target, its
severities merged; node-mixin: one rule on one node), with less than MERGE_GAP of silence
merging two. A page is an episode that reached critical.
- **Warned**: an episode on a faulty node began after the fault started and at least
  MIN_LEAD before the crash. The lead is the crash's time minus the first such start.
- **False**: an episode that began before the fault started (in a run without a fault:
  any). Each is put down to what came just before it: the cluster's or a node's start-up,
  a confounder of the run (a deploy, a batch job...), or nothing known (noise).
Times are the runs' true times; a skewed node's samples carry its skew, its alerts do not.
"""
import statistics

MIN_LEAD = 600.0
MERGE_GAP = 300.0
CAUSE_WINDOW = 3 * 3600.0  # a false alert within this of a start-up or confounder is put down to it


def merged(episodes: list[dict]) -> list[dict]:
    """Episodes of the same series ('series' key) less than MERGE_GAP apart as one; its
    severity is the highest reached."""
    rank = {"info": 0, "warning": 1, "critical": 2}
    out, open_ = [], {}
    for e in sorted(episodes, key=lambda e: (e["series"], e["start"])):
        last = open_.get(e["series"])
        if last is not None and (last["end"] is None or e["start"] - last["end"] < MERGE_GAP):
            last["end"] = None if last["end"] is None or e["end"] is None else max(last["end"], e["end"])
            if rank[e["severity"]] > rank[last["severity"]]:
                last["severity"] = e["severity"]
            continue
        open_[e["series"]] = dict(e)
        out.append(open_[e["series"]])
    return out


def foresight_episodes(replayed) -> list[dict]:
    """Foresight's alert episodes; its labels name the node `service_instance` (the source's
    `instance`, renamed so it does not clash with the sidecar's own: contracts.predictions)."""
    return merged([{"series": (e.predictor, tuple(sorted(e.labels.items()))), "rule": e.predictor,
                    "instance": e.labels.get("service_instance", ""), "severity": e.severity, "start": e.start,
                    "end": e.end} for e in replayed.episodes])


def mixin_episodes(alerts: list[dict], notifying=("warning", "critical")) -> list[dict]:
    """node-mixin's episodes that notify (info alerts do not, by the mixin's routing)."""
    return merged([dict(a, series=(a["rule"], a["instance"])) for a in alerts if a["severity"] in notifying])


def cause(run, spans: dict, e: dict) -> str:
    """What came last before a false alert, within CAUSE_WINDOW: a start-up or a confounder."""
    candidates = [("start-up", spans.get(e["instance"], (run.start,))[0])]
    candidates += [(name, t) for name, t in run.confounders]
    before = [(t, name) for name, t in candidates if t <= e["start"] <= t + CAUSE_WINDOW]
    return max(before)[1] if before else "noise"


def _brief(e: dict) -> dict:
    return {k: e[k] for k in ("rule", "instance", "severity", "start", "end")}


def score_run(run, episodes: list[dict], spans: dict) -> dict:
    """One method's figures on one run; `spans`: instance -> (first, last) sample time."""
    fault_start = run.fault_start if run.fault_start is not None else float("inf")
    false = [e for e in episodes if e["start"] < fault_start]
    out = {"run": run.name, "fault": run.fault, "seed": run.seed, "warned": None, "lead": None,
           "false": len(false), "false_pages": sum(e["severity"] == "critical" for e in false),
           "false_causes": [cause(run, spans, e) for e in false],
           "false_rules": [e["rule"] for e in false],
           "false_list": [_brief(e) for e in false], "episodes": [_brief(e) for e in episodes],
           "node_days": sum(last - first for first, last in spans.values()) / 86400.0}
    if run.crash is not None:
        hits = [e for e in episodes if e["instance"] in run.faulty_instances
                and run.fault_start <= e["start"] <= run.crash - MIN_LEAD]
        out["warned"] = bool(hits)
        out["lead"] = run.crash - min(e["start"] for e in hits) if hits else None
        late = [e for e in episodes if e["instance"] in run.faulty_instances
                and run.crash - MIN_LEAD < e["start"] <= run.crash]
        out["late"] = bool(late) and not hits
        out["first_rules"] = sorted({e["rule"] for e in hits})
    return out


def summarise(rows: list[dict]) -> dict:
    """Figures over runs: warned/failures, median lead, runs with a false alert, false
    episodes and pages, false episodes per node-day."""
    faulty = [r for r in rows if r["warned"] is not None]
    leads = [r["lead"] for r in faulty if r["warned"]]
    node_days = sum(r["node_days"] for r in rows)
    return {"runs": len(rows), "failures": len(faulty), "warned": sum(r["warned"] for r in faulty),
            "median_lead_min": statistics.median(leads) / 60 if leads else None,
            "runs_with_false": sum(r["false"] > 0 for r in rows), "false": sum(r["false"] for r in rows),
            "false_pages": sum(r["false_pages"] for r in rows), "node_days": node_days,
            "false_per_node_day": sum(r["false"] for r in rows) / node_days if node_days else None}


__all__ = ["MIN_LEAD", "cause", "foresight_episodes", "merged", "mixin_episodes", "score_run", "summarise"]
