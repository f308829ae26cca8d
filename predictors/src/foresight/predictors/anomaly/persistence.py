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

A young target (watched less than `policy.min_history`) may alert only when its move is
its own: its level's change since the alarm's reference lies apart from its peers' change
over the same time (`moved_apart`; foresight.predictors.peers). A node that stops sending
packets moves alone; the fleet's first evening, or a batch job on every host, moves all.

At any age, an alarm that half of a target's peers (`policy.fleet_share`) also raised
within the hour is the fleet's, not the target's (`alarmed_together`): a rolling deploy
restarts every host a few minutes apart, a batch job or a change of load moves them all
at once. Those do not alert per target. A fault on one host, or on a few of a larger
fleet, still does.
"""
import math

import numpy as np

from foresight.predictors.peers import MIN_PEERS, apart, others

REFERENCE_ROWS = 40  # points before an alarm that say where the series was (10 min at 15 s)
RECENT_ROWS = 4  # newest points whose median says where it is now (1 min at 15 s)
AWAY = 3.0  # robust standard deviations of the reference points
RELATIVE_FLOOR = 1e-3  # a spread floor, as a share of the level: a flat series is not away by a hair
PEER_FLOOR = 0.1  # a floor on the peers' spread of log changes: moves within ~10% of each other are alike
SHARED_WINDOW = 3600.0  # event seconds: peers' alarms this close to a target's are the same event (a rolling deploy's span)


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


def level_change(times: np.ndarray, values: np.ndarray, span: tuple[float, float]) -> float | None:
    """log(level now / level then): the median of the newest RECENT_ROWS points over the
    median of the points within `span`; None without them, or with a level then <= 0."""
    then = values[times.searchsorted(span[0]):times.searchsorted(span[1], side="right")]  # times are sorted
    if then.size == 0 or values.size == 0:
        return None
    before = float(np.median(then))
    if not before > 0.0:
        return None
    now = float(np.median(values[-RECENT_ROWS:]))
    return math.log(max(now, 1e-3 * before) / before)


def moved_apart(own_key: tuple, own, pairs: list, span: tuple[float, float]) -> bool | None:
    """Whether the target whose series is `own_key` (its Window `own`) changed, since its
    alarm's reference `span`, apart from its peers over the same time; None when it cannot
    be judged."""
    mine = None if own is None else level_change(*own.arrays(since=span[0]), span)
    if mine is None:
        return None
    changes = [level_change(*window.arrays(since=span[0]), span) for _, window in others(pairs, own_key)]
    return apart(mine, [c for c in changes if c is not None], PEER_FLOOR)


def alarmed_together(peer_alarms: list, at: float, share: float) -> bool | None:
    """Whether at least `share` of a target's peers raised an alarm within SHARED_WINDOW
    of its own alarm at `at`, before or since; `peer_alarms` holds each peer's latest
    alarm time (-inf for none). None with fewer than MIN_PEERS peers, or a share of 0."""
    if len(peer_alarms) < MIN_PEERS or share <= 0.0:
        return None
    near = sum(1 for peer in peer_alarms if abs(peer - at) <= SHARED_WINDOW)
    return near >= share * len(peer_alarms)


__all__ = ["AWAY", "PEER_FLOOR", "RECENT_ROWS", "REFERENCE_ROWS", "SHARED_WINDOW", "alarmed_together", "away",
           "level_change", "moved_apart", "reference"]
