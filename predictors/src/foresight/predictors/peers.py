"""Peers: the other targets of one predictor, which are alike (the cores of a fleet, its
hosts' memory, the pools of a service; the replicas of the same service first). A young target, whose own daily pattern is not
known yet, is judged against them: what moved it alone is not the fleet's load.

Kinds measure a change per target (exhaustion: the headroom's ratio; anomaly: the level's
log ratio); this module says whether one target's change lies apart from its peers'.
"""
import numpy as np

from foresight.predictors.base import GONE_AFTER

MIN_PEERS = 3  # fewer peers than this say nothing
MAX_PEERS = 50  # peers taken evenly from the predictor's targets: a bounded cost per judgement
AWAY = 3.0  # robust standard deviations (1.4826 x the median absolute deviation) of the peers' changes


def evenly(items: list, most: int) -> list:
    """At most `most` of the items, spread evenly over the list (deterministic)."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


def live(store, pairs: list) -> list:
    """The (series key, window) pairs whose series sent a point within GONE_AFTER of the
    stream's clock. A replaced pod's window stays in the store for a while: it is no peer,
    and must not count towards MIN_PEERS. Measured by arrival (`last_accepted`), as
    `gone` is, so a host whose clock runs behind is still a peer while it sends."""
    since = store.watermark - GONE_AFTER
    return [pair for pair in pairs if store.last_accepted(pair[0]) >= since]


def others(pairs: list, own_key: tuple) -> list:
    """The (series key, window) pairs of a target's peers, at most MAX_PEERS of them: the
    predictor's other series of the same service (`job`: the replicas of one deployment run
    the same code under the same load) when there are MIN_PEERS of them, else all its other
    series (a predictor on several services, with too few replicas of this one)."""
    rest = [pair for pair in pairs if pair[0] != own_key]
    job = dict(own_key[1]).get("job")
    if job is not None:
        same = [pair for pair in rest if dict(pair[0][1]).get("job") == job]
        if len(same) >= MIN_PEERS:
            rest = same
    return evenly(rest, MAX_PEERS)


def apart(own: float, changes: list, floor: float, below_only: bool = False) -> bool | None:
    """Whether a target's change lies more than AWAY robust spreads (at least `floor`) from
    the median of its peers' (only below it, with `below_only`); None with fewer than
    MIN_PEERS peers."""
    if len(changes) < MIN_PEERS:
        return None
    values = np.asarray(changes, dtype=float)
    middle = float(np.median(values))
    spread = max(1.4826 * float(np.median(np.abs(values - middle))), floor)
    return own < middle - AWAY * spread if below_only else abs(own - middle) > AWAY * spread


__all__ = ["AWAY", "MAX_PEERS", "MIN_PEERS", "apart", "evenly", "live", "others"]
