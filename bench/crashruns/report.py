"""The crash-run bench's Markdown report: figures per method and fault, false alerts by
cause, and the runs Foresight gets wrong."""
import datetime
from collections import Counter
from pathlib import Path

from crashruns.score import MIN_LEAD, summarise

METHODS = ("foresight", "node-mixin")


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "-"


def _minutes(value) -> str:
    return "-" if value is None else f"{value:.0f} min"


def _clock(run: dict, t: float | None) -> str:
    if t is None:
        return "-"
    return f"{datetime.datetime.fromtimestamp(t, datetime.timezone.utc):%a %H:%M} (+{(t - run['start']) / 3600:.1f} h)"


def summary_rows(results: list[dict], group) -> list[str]:
    lines = []
    for key in sorted({group(r) for r in results}):
        rows = [r for r in results if group(r) == key]
        cells = []
        for method in METHODS:
            s = summarise([r[method] for r in rows])
            per_day = "-" if s["false_per_node_day"] is None else f"{s['false_per_node_day']:.3f}"
            cells.append(f"{_pct(s['warned'], s['failures'])} · {_minutes(s['median_lead_min'])} · "
                         f"{s['runs_with_false']}/{s['runs']} · {s['false']} ({per_day}) · {s['false_pages']}")
        lines.append(f"| {key} | {len(rows)} | " + " | ".join(cells) + " |")
    return lines


def write_report(path: Path, meta: dict, results: list[dict]):
    repo = Path(__file__).resolve().parents[2]
    config = " + ".join(str(Path(p).relative_to(repo)) if Path(p).is_absolute() else p
                        for p in meta["config"].split(" + "))
    lines = [f"# Crash runs: {meta['name']}", "",
             f"Seeds {', '.join(map(str, meta['seeds']))}; faults {', '.join(meta['faults'])}. "
             "A cluster of node_exporter hosts (15 s scrapes) starts, lives through confounders, then one fault "
             "ends in a crash (bench/crashruns/cluster.py, written before any of its results were seen). "
             f"Foresight runs `{config}` with its defaults, evaluating after every {meta['every']:.0f} s flush; "
             "node-mixin's node alerts run on the same samples (bench/crashruns/mixin.py). "
             + meta.get("note", ""), "",
             f"Cells: warned >= {MIN_LEAD / 60:.0f} min before the crash on the faulty node · median lead · "
             "runs with a false alert before the fault · false alert episodes (per node-day) · false pages "
             "(critical). node-mixin counts its warning and critical alerts (its NodeCPUHighUsage is info).", "",
             "| | runs | Foresight | node-mixin |", "|---|---|---|---|"]
    lines += summary_rows(results, lambda r: "all")
    lines += ["", "## Per fault", "", "| fault | runs | Foresight | node-mixin |", "|---|---|---|---|"]
    lines += summary_rows(results, lambda r: r["fault"])
    lines += ["", "## False alerts before the fault, by what came just before them (within 3 h)", "",
              "| cause | Foresight: episodes · pages · rules | node-mixin: episodes · rules |", "|---|---|---|"]
    causes = sorted({c for r in results for m in METHODS for c in r[m]["false_causes"]})
    for c in causes:
        cells = []
        for method in METHODS:
            items = [(e, cc) for r in results for e, cc in zip(r[method]["false_list"], r[method]["false_causes"])
                     if cc == c]
            rules = Counter(e["rule"] for e, _ in items)
            pages = sum(e["severity"] == "critical" for e, _ in items)
            text = ", ".join(f"{rule} {n}" for rule, n in rules.most_common())
            cells.append(f"{len(items)} · {pages} · {text}" if method == "foresight" else f"{len(items)} · {text}")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "## Runs Foresight gets wrong", "",
              "| run | fault start | crash | Foresight | node-mixin |", "|---|---|---|---|---|"]
    for r in results:
        f, m = r["foresight"], r["node-mixin"]
        wrong = []
        if f["warned"] is False:
            wrong.append("late warning (< 10 min)" if f.get("late") else "missed")
        if f["false"]:
            wrong.append(f"{f['false']} false ({f['false_pages']} pages: "
                         + ", ".join(sorted(set(f["false_rules"]))) + ")")
        if not wrong:
            continue
        other = ("warned " + _minutes((m["lead"] or 0) / 60) if m["warned"] else "missed" if m["warned"] is False
                 else "-") + f", {m['false']} false"
        lines.append(f"| {r['run']} | {_clock(r, r['fault_start'])} | {_clock(r, r['crash'])} | "
                     + "; ".join(wrong) + f" | {other} |")
    errors = sum(r["errors"] for r in results)
    bad = Counter()
    for r in results:
        bad.update(r["bad_input"])
    lines += ["", f"Points accepted: {sum(r['accepted'] for r in results):,}; counted and skipped: "
              + (", ".join(f"{k} {v:,}" for k, v in sorted(bad.items())) or "none")
              + f"; predictor errors: {errors}. Wall time: {meta['wall_seconds']:.0f} s "
              f"({meta['every']:.0f} s flushes). Foresight code: sources sha256 {meta.get('code', '?')}."]
    path.write_text("\n".join(lines) + "\n")


__all__ = ["write_report"]
