"""Development aid: what each part of the detector's recent changes does to the NAB scores,
by half of the split and on the whole corpus.

usage: ablate.py NAB_DIR
Each check's raw score is recorded once per file (the raw scores do not depend on the
likelihood, damping or quiet period), then the detector's own `TailLikelihood` and
`QuietPeriod` are replayed over them with one part turned off at a time, and every variant
is scored with the NAB scorer (standard / reward low FP / reward low FN). The first rows
reproduce run.py's figures for those versions of the detector. About 1 minute.
The novelty check's start-up as it was before the split (placeholder zeros, every step
new once the bins are set) is `StartupNovelty`. Never choose defaults from half B's rows.
"""
import argparse
import dataclasses
import math
from pathlib import Path

import numpy as np
from direct import late_rows, read_series
from tune import evaluate_scores, in_half, load_scorer

from foresight.predictors.anomaly import DetectorSettings, StreamingDetector
from foresight.predictors.anomaly import univariate
from foresight.predictors.anomaly.alarms import QuietPeriod
from foresight.predictors.anomaly.likelihood import TailLikelihood
from foresight.predictors.anomaly.transitions import TransitionNovelty


class StartupNovelty(TransitionNovelty):
    """The novelty check before the split: 0 (not None) while the bins are unset, and no
    steps known when they are set."""

    def update(self, value: float) -> float:
        self._seen += 1
        if not self._width:
            self._low, self._high = min(self._low, value), max(self._high, value)
            if self._seen >= self._width_rows and self._high > self._low:
                self._width = (self._high - self._low) / self._bins
            return 0.0
        current = self._bin(value)
        previous, self._previous_bin = self._previous_bin, current
        if previous is None:
            return 0.0
        if (previous, current) in self._steps:
            return 0.0
        if len(self._steps) < self._max_transitions:
            self._steps.add((previous, current))
        return 1.0


def record(nab_dir: Path, startup_novelty: bool = False) -> dict:
    """{rel: [raw scores per check, or None for a late row]} with the default settings."""
    raws = {}
    for path in sorted((nab_dir / "data").glob("*/*.csv")):
        _, epoch, values = read_series(path)
        det, late, rows = StreamingDetector(), late_rows(epoch), []
        if startup_novelty:
            s = det.settings
            det._novelty = StartupNovelty(s.novelty_bins, s.novelty_width_rows, s.novelty_max_transitions)
        for i, (t, v) in enumerate(zip(epoch, values)):
            if i in late:
                rows.append(None)
                continue
            slot = univariate._slot(t, univariate.SECONDS_PER_DAY, len(det._daily))
            rows.append((det._level.deviation(v), det._out_of_range(v), det._shape_distance(v),
                         det._daily_deviation(slot, v), det._novelty.update(v)))
            det._learn(slot, v)
        raws[f"{path.parent.name}/{path.name}"] = rows
    return raws


def replay(raws: dict, s: DetectorSettings, hurdle=True, cap=True, breakthrough=True) -> dict:
    """The detector's scores from recorded raw scores (as StreamingDetector.update)."""
    alarm_tail = univariate._tail_at(s.alarm_level, s.score_decades, len(univariate.CHECKS)) if cap else 0.0
    out = {}
    for rel, rows in raws.items():
        tails = [TailLikelihood(s.novelty_short_rows if name == "novelty" else s.likelihood_short_rows,
                                s.likelihood_memory_rows, s.likelihood_std_floor,
                                zero_heavy=hurdle and name in univariate.ZERO_HEAVY, alarm_tail=alarm_tail)
                 for name in univariate.CHECKS]
        quiet = QuietPeriod(s.alarm_level, s.quiet_rows, s.quiet_factor, s.quiet_share_of_seen,
                            s.quiet_max_rows, s.quiet_breakthrough if breakthrough else None)
        scores, previous, seen = np.zeros(len(rows)), 0.0, 0
        for i, raw in enumerate(rows):
            if raw is None:
                continue
            seen += 1
            p = min(max(min(t.update(r) for t, r in zip(tails, raw)) * len(tails), 1e-300), 1.0)
            score = min(1.0, max(0.0, -math.log10(p) / s.score_decades))
            if seen <= s.warmup_rows:
                continue
            damped, previous = min(score, max(previous, score ** s.lone_row_power)), score
            scores[i] = quiet.apply(damped, seen)
        out[rel] = scores
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nab_dir", type=Path)
    args = ap.parse_args(argv)
    scorer, now = load_scorer(), DetectorSettings()
    before_round = dataclasses.replace(now, quiet_share_of_seen=0.03)
    raws, startup = record(args.nab_dir), record(args.nab_dir, startup_novelty=True)
    variants = [
        ("before the split: start-up novelty, no two-part tail, no breakthrough, quiet 3%", startup, before_round,
         dict(hurdle=False, breakthrough=False)),
        ("+ novelty learns its first steps", raws, before_round, dict(hurdle=False, breakthrough=False)),
        ("+ two-part tail, uncapped", raws, before_round, dict(cap=False, breakthrough=False)),
        ("+ two-part tail, capped at the alarm level", raws, before_round, dict(breakthrough=False)),
        ("+ quiet breakthrough (where round 2 started)", raws, before_round, {}),
        ("+ quiet period 5% of rows seen (defaults now)", raws, now, {}),
        ("defaults now, start-up novelty", startup, now, {}),
        ("defaults now, no two-part tail", raws, now, dict(hurdle=False)),
        ("defaults now, no breakthrough", raws, now, dict(breakthrough=False)),
    ]
    print("| variant | half A | half B | all 58 files |\n|---|---|---|---|")
    for label, recorded, settings, parts in variants:
        scored = replay(recorded, settings, **parts)
        cells = []
        for half in ("A", "B", "all"):
            wanted = in_half(args.nab_dir, half)
            r = evaluate_scores(args.nab_dir, {k: v for k, v in scored.items() if k in wanted}, scorer, half=half)
            cells.append(" / ".join(f"{r[p]:.2f}" for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")))
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
