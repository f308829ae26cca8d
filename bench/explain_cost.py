#!/usr/bin/env python3
"""Cost (and a detection check) of the multivariate detector with SHAP attributions.

  python bench/explain_cost.py [--groups 50] [--hours 10] [--full-history-groups 2] [--json FILE]

Part 1, streaming: --groups groups of 5 related series (request rate, latency, error
rate, pool usage, memory) at 1-minute resolution, fed --hours of event time through
MultivariateDetector with the default settings (3-day history, 6 h min_history, hourly
refits, 100 trees, explain_above 0.8). In the last hour, every other group gets a
10-minute latency step (+25 sigma of its noise) while its request rate stays normal, so
that injected and normal minutes can be compared; use --hours 80 to judge the scores
with a mature 3-day history rather than a first day. Reports time per update, per refit and per SHAP
explanation, and how well each score separates the injected minutes from normal ones.

Part 2, full history: --full-history-groups groups are fed 3 days first (no fit until
then), so the refit, scoring and SHAP times are measured at the full 3-day buffer
(4320 vectors) that a long-running service reaches.
"""
import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "predictors" / "src"))
from foresight.predictors.anomaly.multivariate import MultivariateDetector, MultivariateSettings  # noqa: E402

NAMES = ["request rate", "latency", "error rate", "pool usage", "memory"]
T0 = 1_700_006_400.0  # a UTC midnight
LATENCY_NOISE = 0.003


class Group:
    """One service's five series: latency and pool usage follow the daily request load."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.base = 50 + 100 * self.rng.random()
        self.phase = self.rng.random() * 2 * math.pi

    def sample(self, t: float, latency_extra: float = 0.0) -> dict:
        load = self.base * (1 + 0.3 * math.sin(2 * math.pi * t / 86400 + self.phase)) + self.rng.normal(0, 3)
        return {"request rate": load,
                "latency": 0.1 + 0.001 * load + latency_extra + self.rng.normal(0, LATENCY_NOISE),
                "error rate": 0.01 + self.rng.normal(0, 0.002),
                "pool usage": 0.3 + 0.002 * load + self.rng.normal(0, 0.01),
                "memory": 500 + self.rng.normal(0, 5)}


def streaming(groups: int, hours: float) -> dict:
    settings = MultivariateSettings()
    minutes = int(hours * 60)
    start_anomaly = minutes - 40  # a 10-minute step, then 30 normal minutes
    detectors = [MultivariateDetector(NAMES, settings, group=f"group-{g}") for g in range(groups)]
    sources = [Group(seed) for seed in range(groups)]
    rows = []  # (group, minute, injected, score, forest_score, tail_score)
    update_seconds = []
    for minute in range(minutes):
        t = T0 + 60 * minute
        for g, (detector, source) in enumerate(zip(detectors, sources)):
            injected = g % 2 == 0 and start_anomaly <= minute < start_anomaly + 10
            values = source.sample(t, 25 * LATENCY_NOISE if injected else 0.0)
            started = time.perf_counter()
            result = detector.update(t, values)
            update_seconds.append(time.perf_counter() - started)
            if result is not None:
                rows.append((g, minute, injected, result.score, result.forest_score, result.tail_score,
                             max(result.series_attributions, key=result.series_attributions.get)
                             if result.series_attributions else ""))
    timings = _merge([d.timing_summary() for d in detectors])
    updates = np.array(update_seconds)
    fitted_minute = min(m for _, m, *_ in rows)
    scored = updates.reshape(minutes, groups)[fitted_minute:]
    return {
        "groups": groups, "hours": hours, "updates": len(updates),
        "update_ms_mean": 1000 * updates.mean(),
        "update_ms_p99": 1000 * np.percentile(updates, 99),
        "update_ms_mean_once_fitted": 1000 * scored.mean(),
        "all_groups_one_minute_ms_mean_once_fitted": 1000 * scored.sum(axis=1).mean(),
        "all_groups_one_minute_ms_max": 1000 * updates.reshape(minutes, groups).sum(axis=1).max(),
        "timings": timings,
        "detection": _detection(rows, start_anomaly),
    }


def full_history(groups: int) -> dict:
    days = 3
    settings = MultivariateSettings(min_history=days * 86400 - 1800)  # the first fit sees ~3 days
    out = []
    for seed in range(groups):
        detector, source = MultivariateDetector(NAMES, settings), Group(1000 + seed)
        started = time.perf_counter()
        for minute in range(days * 1440 + 5):
            detector.update(T0 + 60 * minute, source.sample(T0 + 60 * minute))
        feed_seconds = time.perf_counter() - started
        for _ in range(20):  # SHAP and scoring on the full model, on request
            detector.explain_latest()
        summary = detector.timing_summary()
        summary["buffered_vectors"] = len(detector._buffer)
        summary["feed_3_days_s"] = feed_seconds
        out.append(summary)
    return {"groups": groups, "per_group": out}


def _detection(rows, start_anomaly) -> dict:
    """AUC of each score: injected minutes vs normal minutes of the last 3 h before the
    step and of the groups without a step (the 15 min after a step are left out: its
    deltas and windows are legitimately strange then)."""
    data = [r for r in rows if r[1] >= start_anomaly - 180
            and not (r[0] % 2 == 0 and start_anomaly + 10 <= r[1] < start_anomaly + 25)]
    labels = np.array([r[2] for r in data])
    result = {"injected_points": int(labels.sum()), "normal_points": int((~labels).sum())}
    if labels.any() and (~labels).any():
        for index, name in ((3, "combined"), (4, "forest_only"), (5, "robust_tail_only")):
            scores = np.array([r[index] for r in data])
            result[f"auc_{name}"] = float(roc_auc_score(labels, scores))
            result[f"{name}_normal_share_above_0.99"] = float(np.mean(scores[~labels] > 0.99))
            result[f"{name}_injected_share_above_0.99"] = float(np.mean(scores[labels] > 0.99))
        tops = [r[6] for r in data if r[2] and r[6]]
        result["injected_explained"] = len(tops)
        result["injected_top_series_is_latency"] = sum(t == "latency" for t in tops)
    return result


def _merge(summaries: list) -> dict:
    merged = {}
    for name in summaries[0]:
        count = sum(s[name]["count"] for s in summaries)
        total = sum(s[name]["total_s"] for s in summaries)
        merged[name] = {"count": count, "mean_ms": 1000 * total / count if count else 0.0,
                        "max_ms": 1000 * max(s[name]["max_s"] for s in summaries)}
    return merged


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--groups", type=int, default=50)
    p.add_argument("--hours", type=float, default=10.0, help="event time streamed per group (default 10)")
    p.add_argument("--full-history-groups", type=int, default=2)
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args(argv)
    report = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    started = time.perf_counter()
    report["streaming"] = streaming(args.groups, args.hours)
    report["full_history"] = full_history(args.full_history_groups) if args.full_history_groups else None
    report["wall_s"] = time.perf_counter() - started
    report["load_average_after"] = os.getloadavg()
    text = json.dumps(report, indent=1, default=float)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
