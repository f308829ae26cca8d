"""The exhaustion benchmark's Markdown: what the suite is and whether defaults were tuned on
it, the headline table, one row per family, and every case Foresight still gets wrong."""
import time

# Foresight's defaults may be tuned on loadgen's seeds 1-3 only; every other suite is held out.
TUNING_GENERATOR = "loadgen"
TUNING_SEEDS = {1, 2, 3}


def tuning_status(generator: str, seeds: list[int]) -> tuple[str, str]:
    """('tuning set' | 'held out' | 'partly tuning set', the sentence for the top of the page)."""
    tuned = set(seeds) & TUNING_SEEDS if generator == TUNING_GENERATOR else set()
    if tuned == set(seeds):
        return "tuning set", ("**Tuning set: Foresight's defaults were tuned on this suite** (loadgen, seeds 1-3), "
                              "and may be again; its figures flatter Foresight. Judge the model on the held-out "
                              "tables (`exhaustion-heldout-seeds-4-6.md`, `exhaustion-generator2.md`).")
    if tuned:
        return "partly tuning set", (f"**Partly tuning set: seeds {sorted(tuned)} are the tuning seeds**; the rest "
                                     "are held out. Do not read it as a held-out result.")
    which = "the independent generator, `generator2.py`" if generator == "second" else "loadgen, seeds outside 1-3"
    return "held out", (f"**Held out: Foresight's defaults were never tuned on this suite** ({which}), "
                        "and must not be: nothing may be chosen by looking at these figures.")


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def _h(v):
    return "n/a" if v is None else f"{v:.1f} h"


def markdown_table(summaries: dict, tgt: dict, foresight: str) -> str:
    names = list(summaries)
    rows = [
        ("recall (warned >= 30 min ahead)", "recall", lambda v: _f(v, ".0%")),
        ("median lead time (warned failures)", "median_lead_h", _h),
        ("median lead where foreseeable >= 6 h (misses = 0)", "median_lead_foreseeable_h", _h),
        ("false alert episodes per series-day", "false_per_series_day", lambda v: _f(v, ".3f")),
        ("TTF p50 median relative error (6 h before)", "ttf_p50_median_rel_error", lambda v: _f(v, ".0%")),
        ("TTF p10-p90 coverage (6 h before)", "ttf_p10_p90_coverage", lambda v: _f(v, ".0%")),
    ]
    lines = ["| figure | " + " | ".join(names) + " | target (Foresight) | met |", "|" + "---|" * (len(names) + 3)]
    for label, key, fmt in rows:
        cells = ["—" if (n != foresight and key.startswith("ttf")) else fmt(summaries[n][key]) for n in names]
        t = tgt.get(key)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {t['target'] if t else ''} | "
                     + ("" if not t else ("yes" if t["met"] else "**no**")) + " |")
    s0 = summaries[names[0]]
    lines += ["", f"{s0['failures']} failures ({s0['foreseeable_failures']} foreseeable >= 6 h), "
                  f"{s0['series_days']:.1f} series-days; counts: "
              + ", ".join(f"{n} warned {summaries[n]['warned']}, {summaries[n]['false_episodes']} false episodes"
                          for n in names) + "."]
    return "\n".join(lines)


def per_kind_table(summaries: dict) -> str:
    names = list(summaries)
    kinds = list(next(iter(summaries.values()))["per_kind"])
    lines = ["| family | series-days | failures | "
             + " | ".join(f"{n}: warned · false eps · median lead" for n in names) + " |",
             "|" + "---|" * (len(names) + 3)]
    for k in kinds:
        first = summaries[names[0]]["per_kind"][k]
        cells = []
        for n in names:
            v = summaries[n]["per_kind"][k]
            lead = f" · {_h(v['median_lead_h'])}" if v["failures"] else ""
            cells.append(f"{v['warned']}/{v['failures']} · {v['false']}{lead}")
        lines.append(f"| {k} | {first['days']:.1f} | {first['failures']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def when(t: float, start: float) -> str:
    """UTC time and day/hour since the series' suite start (day 0 = Monday)."""
    return (time.strftime("%a %H:%M", time.gmtime(t)) + f" (day {(t - start) / 86400:.2f})")


def cases_section(summary: dict, details: dict, suite_start: float) -> str:
    """Every failure Foresight missed and every false alert episode it raised.

    `details[case]` gives, for a case name, a function time -> (used/limit, Foresight p50 TTF s)."""
    lines = ["## Cases Foresight still gets wrong", ""]
    missed, false = summary["missed"], summary["false_episodes_list"]
    lines.append(f"### Missed failures ({len(missed)})")
    lines.append("")
    if missed:
        lines += ["| family | seed | failure (UTC) | run-up began | what Foresight did "
                  "| used/limit and TTF p50 1 h before |", "|---|---|---|---|---|---|"]
        for m in missed:
            share, p50 = details[m["case"]](m["failure"] - 3600)
            lines.append(f"| {m['kind']} | {m['seed']} | {when(m['failure'], suite_start)} | "
                         f"{(m['failure'] - m['ramp_start']) / 3600:.1f} h before | {m['what']} | "
                         f"{_f(share, '.0%')}, {_ttf(p50)} |")
    else:
        lines.append("None.")
    lines += ["", f"### False alert episodes ({len(false)})", ""]
    if false:
        lines += ["| family | seed | began (UTC) | lasted | used/limit and TTF p50 at its start | next failure |",
                  "|---|---|---|---|---|---|"]
        for e in false:
            share, p50 = details[e["case"]](e["start"])
            nxt = "none" if e["next_failure"] is None else f"{(e['next_failure'] - e['start']) / 3600:.0f} h later"
            lines.append(f"| {e['kind']} | {e['seed']} | {when(e['start'], suite_start)} | "
                         f"{(e['end'] - e['start']) / 60:.0f} min | {_f(share, '.0%')}, {_ttf(p50)} | {nxt} |")
    else:
        lines.append("None.")
    return "\n".join(lines)


def _ttf(seconds) -> str:
    if seconds is None or seconds != seconds:
        return "no TTF"
    if seconds == float("inf"):
        return "TTF inf"
    return f"TTF {seconds / 3600:.1f} h"
