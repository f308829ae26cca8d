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
- TTF error (Foresight only): output rows in [f - 6 h, f - 10 min], the last row of each
  minute (so a 15 s series weighs as much as a 60 s one; minutes without rows, in gaps, are
  not scored): |p50 - true| / true, with true = f - row time; an `inf` or missing p50 counts
  as 1.0 (capped at 1.0 is NOT applied otherwise). Coverage: share of those rows with
  p10 <= true <= p90 (p90 = inf counts as an open upper end; missing values count as not
  covered).
Alerting is judged on the rule evaluation grid (every 60 s; see baselines.py and
foresight_runner.deployed_alerting), whatever the data's step, so `for:` and the merge gap
are times, never row counts.
"""
import numpy as np

from foresight.runtime import scoring

# Lead time and TTF error are defined once, in the package: `foresight train` scores with them too.
MIN_WARNING, LOOK_BACK, TTF_WINDOW = scoring.MIN_WARNING, scoring.LOOK_BACK, scoring.TTF_WINDOW
lead_time, ttf_rows = scoring.lead_time, scoring.ttf_rows

MERGE_GAP = 15 * 60


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


def miss_reason(eps, failure: float) -> str:
    """What an alerting method did about a failure it did not warn of, in words."""
    late = [s for s, e in eps if failure - MIN_WARNING <= s <= failure]
    if late:
        return f"alert began {(failure - late[0]) / 60:.0f} min before (< 30 min)"
    return "no alert in the 24 h before"


def false_episodes(eps, failures) -> int:
    f = np.asarray(failures, dtype=np.float64)
    return sum(1 for s, _ in eps if not np.any((f >= s) & (f <= s + LOOK_BACK)))


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
        self.missed: list[dict] = []  # one per failure not warned, with what the method did
        self.false_list: list[dict] = []  # one per false alert episode

    def add_series(self, kind, times, alerting, failures, ramp_starts, span_days, failures_after=(),
                   case: str = "", seed: int | None = None):
        eps = episodes(times, alerting)
        k = self.per_kind.setdefault(kind, {"failures": 0, "warned": 0, "false": 0, "days": 0.0, "leads_h": []})
        for f, r in zip(failures, ramp_starts):
            lead = lead_time(eps, f)
            self.failures += 1
            k["failures"] += 1
            if lead is not None:
                self.leads.append(lead)
                k["warned"] += 1
                k["leads_h"].append(lead / 3600)
            else:
                self.missed.append({"kind": kind, "case": case, "seed": seed, "failure": float(f),
                                    "ramp_start": float(r), "what": miss_reason(eps, f)})
            if f - r >= 6 * 3600:
                self.foreseeable_leads.append(lead or 0.0)
        every = np.asarray(list(failures) + list(failures_after), dtype=np.float64)
        for s, e in eps:
            if not np.any((every >= s) & (every <= s + LOOK_BACK)):
                later = every[every > s]
                self.false_list.append({"kind": kind, "case": case, "seed": seed, "start": s, "end": e,
                                        "next_failure": float(later.min()) if later.size else None})
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
            "per_kind": {k: {**v, "median_lead_h": med(v["leads_h"])} for k, v in self.per_kind.items()},
            "missed": self.missed,
            "false_episodes_list": self.false_list,
        }


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
