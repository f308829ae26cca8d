"""Scoring alerts and time-to-failure forecasts against the suite's failure times.

Definitions (times in seconds, f = a failure time):
- alert episode: a maximal run of alerting evaluations; two runs separated by less than
  15 min are merged. An episode spans [first alerting time, last alerting time].
- warned: some episode began before f - 30 min and was active in [f - 24 h, f - 30 min]
  (its end >= f - 24 h). recall = warned failures / failures.
- lead time of a warned failure: f - max(start, f - 24 h) of the latest such episode (the
  one that covers the run-up to the failure); so leads are capped at 24 h.
- false alert episode: an episode with no failure in [start, start + 24 h]; reported per
  series-day (sum over series of their span in days).
- median lead (foreseeable >= 6 h): over failures whose ramp began >= 6 h before them,
  counting a missed failure as lead 0.
- TTF error (Foresight only): every output row in [f - 6 h, f - 10 min]: |p50 - true| / true,
  with true = f - row time; an `inf` or missing p50 counts as 1.0 (capped at 1.0 is NOT
  applied otherwise). Coverage: share of those rows with p10 <= true <= p90 (p90 = inf
  counts as an open upper end; missing values count as not covered).
"""
import math

import numpy as np

MERGE_GAP = 15 * 60
MIN_WARNING = 30 * 60
LOOK_BACK = 24 * 3600
TTF_WINDOW = (6 * 3600, 10 * 60)


def episodes(times, alerting, merge_gap: float = MERGE_GAP) -> list[tuple[float, float]]:
    times = np.asarray(times, dtype=np.float64)
    on = times[np.asarray(alerting, dtype=bool)]
    if on.size == 0:
        return []
    # Runs of consecutive alerting rows: a break wherever a non-alerting row lies between.
    idx = np.flatnonzero(np.asarray(alerting, dtype=bool))
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [idx.size - 1]])
    runs = [(times[idx[s]], times[idx[e]]) for s, e in zip(starts, ends)]
    merged = [list(runs[0])]
    for s, e in runs[1:]:
        if s - merged[-1][1] < merge_gap:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    return [(float(s), float(e)) for s, e in merged]


def lead_time(eps, failure: float) -> float | None:
    """Lead of the latest episode warning for `failure`, or None when not warned."""
    best = None
    for s, e in eps:
        if s < failure - MIN_WARNING and e >= failure - LOOK_BACK:
            best = failure - max(s, failure - LOOK_BACK)
    return best


def false_episodes(eps, failures) -> int:
    f = np.asarray(failures, dtype=np.float64)
    return sum(1 for s, _ in eps if not np.any((f >= s) & (f <= s + LOOK_BACK)))


def ttf_rows(times, p10, p50, p90, failures):
    """(relative errors of p50, covered flags) over rows in the 6 h before each failure."""
    errors, covered = [], []
    times = np.asarray(times, dtype=np.float64)
    for f in failures:
        sel = (times >= f - TTF_WINDOW[0]) & (times <= f - TTF_WINDOW[1])
        for t, a, b, c in zip(times[sel], p10[sel], p50[sel], p90[sel]):
            true = f - t
            errors.append(1.0 if (math.isnan(b) or math.isinf(b)) else abs(b - true) / true)
            covered.append((not math.isnan(a)) and (not math.isnan(c)) and a <= true <= c)
    return errors, covered


class MethodScore:
    def __init__(self, name: str):
        self.name = name
        self.failures = 0
        self.leads: list[float] = []
        self.foreseeable_leads: list[float] = []  # misses as 0
        self.false = 0
        self.series_days = 0.0
        self.errors: list[float] = []
        self.covered: list[bool] = []
        self.per_kind: dict = {}

    def add_series(self, kind, times, alerting, failures, ramp_starts, span_days, failures_after=()):
        eps = episodes(times, alerting)
        k = self.per_kind.setdefault(kind, {"failures": 0, "warned": 0, "false": 0, "days": 0.0})
        for f, r in zip(failures, ramp_starts):
            lead = lead_time(eps, f)
            self.failures += 1
            k["failures"] += 1
            if lead is not None:
                self.leads.append(lead)
                k["warned"] += 1
            if f - r >= 6 * 3600:
                self.foreseeable_leads.append(lead or 0.0)
        fa = false_episodes(eps, list(failures) + list(failures_after))
        self.false += fa
        k["false"] += fa
        self.series_days += span_days
        k["days"] += span_days
        return eps

    def summary(self) -> dict:
        med = lambda a: float(np.median(a)) if len(a) else None  # noqa: E731
        return {
            "failures": self.failures,
            "warned": len(self.leads),
            "recall": len(self.leads) / self.failures if self.failures else None,
            "median_lead_h": None if not self.leads else med(self.leads) / 3600,
            "median_lead_foreseeable_h": None if not self.foreseeable_leads else med(self.foreseeable_leads) / 3600,
            "foreseeable_failures": len(self.foreseeable_leads),
            "false_episodes": self.false,
            "series_days": self.series_days,
            "false_per_series_day": self.false / self.series_days if self.series_days else None,
            "ttf_p50_median_rel_error": med(self.errors),
            "ttf_p10_p90_coverage": float(np.mean(self.covered)) if self.covered else None,
            "ttf_rows": len(self.errors),
            "per_kind": self.per_kind,
        }


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def targets(summaries: dict, foresight: str, baselines: list[str]) -> dict:
    best_recall = max((summaries[b]["recall"] or 0.0) for b in baselines)
    best_false = min(summaries[b]["false_per_series_day"] for b in baselines)
    s = summaries[foresight]
    return {
        "recall": {"target": f">= {best_recall:.0%} (best baseline)", "met": (s["recall"] or 0) >= best_recall},
        "false_per_series_day": {"target": f"<= {best_false / 10:.3f} (1/10 of best baseline)",
                                 "met": s["false_per_series_day"] <= best_false / 10},
        "median_lead_foreseeable_h": {"target": ">= 6 h", "met": (s["median_lead_foreseeable_h"] or 0) >= 6},
        "ttf_p50_median_rel_error": {"target": "<= 25%",
                                     "met": s["ttf_p50_median_rel_error"] is not None
                                     and s["ttf_p50_median_rel_error"] <= 0.25},
        "ttf_p10_p90_coverage": {"target": "70-90%", "met": s["ttf_p10_p90_coverage"] is not None
                                 and 0.7 <= s["ttf_p10_p90_coverage"] <= 0.9},
    }


def markdown_table(summaries: dict, tgt: dict, foresight: str) -> str:
    names = list(summaries)
    rows = [
        ("recall (warned >= 30 min ahead)", "recall", lambda v: _f(v, ".0%")),
        ("median lead time (warned failures)", "median_lead_h", lambda v: "n/a" if v is None else f"{v:.1f} h"),
        ("median lead where foreseeable >= 6 h (misses = 0)", "median_lead_foreseeable_h",
         lambda v: "n/a" if v is None else f"{v:.1f} h"),
        ("false alert episodes per series-day", "false_per_series_day", lambda v: _f(v, ".3f")),
        ("TTF p50 median relative error (6 h before)", "ttf_p50_median_rel_error", lambda v: _f(v, ".0%")),
        ("TTF p10-p90 coverage (6 h before)", "ttf_p10_p90_coverage", lambda v: _f(v, ".0%")),
    ]
    head = "| figure | " + " | ".join(names) + " | target (Foresight) | met |"
    lines = [head, "|" + "---|" * (len(names) + 3)]
    for label, key, fmt in rows:
        cells = []
        for n in names:
            v = summaries[n][key]
            cells.append("—" if (n != foresight and key.startswith("ttf")) else fmt(v))
        t = tgt.get(key)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {t['target'] if t else ''} | "
                     + ("" if not t else ("yes" if t["met"] else "**no**")) + " |")
    s0 = summaries[names[0]]
    lines.append("")
    lines.append(f"{s0['failures']} failures ({s0['foreseeable_failures']} foreseeable >= 6 h), "
                 f"{s0['series_days']:.1f} series-days.")
    return "\n".join(lines)


def per_kind_table(summaries: dict) -> str:
    names = list(summaries)
    kinds = list(next(iter(summaries.values()))["per_kind"])
    lines = ["| scenario | failures | " + " | ".join(f"{n}: warned / false eps" for n in names) + " |",
             "|" + "---|" * (len(names) + 2)]
    for k in kinds:
        first = summaries[names[0]]["per_kind"][k]
        cells = [f"{summaries[n]['per_kind'][k]['warned']} / {summaries[n]['per_kind'][k]['false']}" for n in names]
        lines.append(f"| {k} | {first['failures']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
