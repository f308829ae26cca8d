"""Whether an anomaly lasts: the policy holds a detection (`policy.score_hold`) only while
the series stays away from where it was before it.

A streaming detector scores a change once and then goes quiet (`alarms`), so the policy
holds the alert level after a detection for the alert's `for:` to pass. Held blindly, a
blip that is over in a minute (a process restart in a deploy, a scrape after an exporter
restart) fires as surely as a shift that lasts (a node losing its packets, a CPU hog).
At each alarm the predictor notes where the series was: the median of the points before
it, and their spread (robust: 1.4826 x their median absolute deviation). From then on the
series is away while the median of its newest points is more than AWAY such spreads from
there. Strictly causal; two numbers per target.
"""
import numpy as np

REFERENCE_ROWS = 40  # points before an alarm that say where the series was (10 min at 15 s)
RECENT_ROWS = 4  # newest points whose median says where it is now (1 min at 15 s)
AWAY = 3.0  # robust standard deviations of the reference points
RELATIVE_FLOOR = 1e-3  # a spread floor, as a share of the level: a flat series is not away by a hair


def reference(before: np.ndarray) -> tuple[float, float] | None:
    """(level, spread) of the points before an alarm; None without enough of them."""
    if before.size < RECENT_ROWS:
        return None
    level = float(np.median(before))
    spread = 1.4826 * float(np.median(np.abs(before - level)))
    return level, max(spread, RELATIVE_FLOOR * abs(level), 1e-12)


def away(ref: tuple[float, float] | None, recent: np.ndarray) -> bool | None:
    """Whether the newest points are still away from the reference; None without one.
    (Asked at every evaluation of a target that has alarmed: a plain sort of a few floats,
    not np.median.)"""
    if ref is None or recent.size == 0:
        return None
    level, spread = ref
    ordered = sorted(recent.tolist())
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return abs(median - level) > AWAY * spread


__all__ = ["AWAY", "RECENT_ROWS", "REFERENCE_ROWS", "away", "reference"]
