"""What the tuning rule would have done: replay judged episodes in time order.

Each episode alerts if its peak reaches the threshold learned from the verdicts known
before it started (a verdict is known once its episode has ended; an episode the tuning
silenced has no annotation, so it gets no verdict). Without tuning every episode alerts. Counted per verdict:
episodes that still alert, and those the tuning silenced. Input: a feedback state file
(`--state`), or a synthetic history (`--synthetic`, seeded) to see the rule's trade-off.

    python -m foresight.feedback.simulate --state /var/lib/foresight/feedback.json
    python -m foresight.feedback.simulate --synthetic --seed 1 --runs 20
"""
import argparse
import json
import random
import sys
from dataclasses import dataclass

from foresight.feedback.tuning import tuned_threshold


@dataclass
class Judged:
    predictor: str
    start: float
    end: float
    peak: float
    verdict: str  # confirmed | dismissed: the truth, used for counting
    tagged: bool = True  # an engineer gave the verdict, so the tuning may learn from it


def replay(episodes: list[Judged], base: dict[str, float], margin: float = 0.02,
           max_threshold: float = 0.95, learn_missed: bool = True) -> dict[str, dict]:
    """Per predictor: {verdict: [alerted, silenced]} and the final threshold.

    `learn_missed`: a real problem the tuning silenced goes on to fail (nobody was told),
    and the loop learns from that missed failure as from a confirmation."""
    results = {}
    for predictor in sorted({e.predictor for e in episodes}):
        mine = sorted((e for e in episodes if e.predictor == predictor), key=lambda e: e.start)
        counts = {"confirmed": [0, 0], "dismissed": [0, 0]}
        threshold = base.get(predictor, 0.5)
        alerted = set()  # a silenced episode writes no annotation, so nobody can tag it
        for i, episode in enumerate(mine):
            known = [e for j, e in enumerate(mine) if e.end <= episode.start and (
                e.tagged if j in alerted else learn_missed and e.verdict == "confirmed")]
            threshold = tuned_threshold(base.get(predictor, 0.5),
                                        [e.peak for e in known if e.verdict == "dismissed"],
                                        [e.peak for e in known if e.verdict == "confirmed"], margin, max_threshold)
            if episode.peak >= threshold:
                alerted.add(i)
            counts[episode.verdict][0 if episode.peak >= threshold else 1] += 1
        results[predictor] = {"counts": counts, "final_threshold": threshold}
    return results


def synthetic(seed: int, n: int = 200, base: float = 0.5, false_share: float = 0.6,
              tagged_share: float = 1.0) -> list[Judged]:
    """One predictor's history: false alarms peak lower than real ones, with overlap;
    engineers tag `tagged_share` of the episodes."""
    rng = random.Random(seed)
    episodes, t = [], 0.0
    for _ in range(n):
        t += rng.expovariate(1 / 86400)
        dismissed = rng.random() < false_share
        peak = base + (1 - base) * (rng.betavariate(2, 4) if dismissed else rng.betavariate(5, 2))
        episodes.append(Judged("synthetic", t, t + rng.uniform(1800, 6 * 3600), round(peak, 4),
                               "dismissed" if dismissed else "confirmed", rng.random() < tagged_share))
    return episodes


def from_state(path: str) -> list[Judged]:
    data = json.loads(open(path).read())
    episodes = []
    for e in data.get("episodes", []):
        values = set(e.get("verdicts", {}).values())
        verdict = "confirmed" if "confirmed" in values else "dismissed" if values else None
        if verdict is None and e.get("outcome") == "failure":
            verdict = "confirmed"
        if verdict and e.get("end") is not None:
            episodes.append(Judged(e["predictor"], e["start"], e["end"], e["peak_probability"], verdict))
    return episodes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--state", help="a feedback state file")
    source.add_argument("--synthetic", action="store_true", help="a seeded synthetic history")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="synthetic: histories with seeds seed, seed+1, ...")
    parser.add_argument("--base", type=float, default=0.5, help="base threshold of every predictor")
    parser.add_argument("--margin", type=float, default=0.02)
    parser.add_argument("--tagged", type=float, default=1.0, help="synthetic: share of episodes engineers tag")
    parser.add_argument("--ignore-missed", action="store_true", help="do not learn from missed failures")
    args = parser.parse_args(argv)
    histories = ([synthetic(seed, base=args.base, tagged_share=args.tagged)
                  for seed in range(args.seed, args.seed + args.runs)] if args.synthetic
                 else [from_state(args.state)])
    if not any(histories):
        print("no judged, finished episodes to replay", file=sys.stderr)
        return 1
    print("run  predictor  confirmed_alerted  confirmed_silenced  dismissed_alerted  dismissed_silenced  "
          "final_threshold")
    totals = [0, 0, 0, 0]
    for run, episodes in enumerate(histories):
        base = {e.predictor: args.base for e in episodes}
        for predictor, r in replay(episodes, base, args.margin, learn_missed=not args.ignore_missed).items():
            row = r["counts"]["confirmed"] + r["counts"]["dismissed"]
            totals = [a + b for a, b in zip(totals, row)]
            print(f"{run}  {predictor}  {'  '.join(map(str, row))}  {r['final_threshold']:.4f}")
    c_alerted, c_silenced, d_alerted, d_silenced = totals
    print(f"total: confirmed kept {c_alerted}/{c_alerted + c_silenced} "
          f"({c_alerted / max(1, c_alerted + c_silenced):.1%}), dismissed silenced {d_silenced}/"
          f"{d_alerted + d_silenced} ({d_silenced / max(1, d_alerted + d_silenced):.1%}); "
          "without tuning every episode alerts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
