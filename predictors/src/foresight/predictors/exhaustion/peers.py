"""A young exhaustion target at risk, against its peers (foresight.predictors.peers).

Until its daily pattern is known (`policy.min_history`) a target may page only on an
imminent crossing. A young fleet's first afternoon peak, a cluster's start-up or a batch job
on every host looks like one: every target's headroom (its distance to the limit) shrinks
at the same time. So a young target at risk pages only when, over the time it has been
watched, its headroom shrank clearly more than its peers' did over the same time: a fault
on one host does that; the fleet's load does not.

Headroom is compared as a ratio (now over then), so targets of different sizes compare.
Strictly causal; judged only for young targets at risk.
"""
import numpy as np

from foresight.predictors.peers import apart, others

RECENT = 900.0  # where a series is: the median of a quarter hour of its points
SPREAD_FLOOR = 0.05  # of the headroom: peers that all moved alike still leave some room


def headroom_ratio(times: np.ndarray, values: np.ndarray, sign: float, limit: float,
                   since: float, now: float) -> float | None:
    """Headroom in the quarter hour up to `now` over headroom in the quarter hour from
    `since` (medians); None without points in both, or without headroom at first."""
    first = values[times.searchsorted(since):times.searchsorted(since + RECENT)]  # times are sorted
    last = values[times.searchsorted(now - RECENT, side="right"):]
    if first.size == 0 or last.size == 0:
        return None
    then = sign * (limit - float(np.median(first)))
    if then <= 0.0:
        return None
    return sign * (limit - float(np.median(last))) / then


def peer_outlier(own_key: tuple, pairs: list, limit_of, sign: float, since: float, now: float) -> bool | None:
    """For the target whose series is `own_key`, watched since `since`: whether its headroom
    shrank clearly more than its peers' since then. `pairs` are (series key, Window) of the
    predictor's series; `limit_of(series key)` gives a series' limit (None: not a peer).
    None when it cannot be judged (too few peers watched that long)."""
    own = dict(pairs).get(own_key)
    limit = limit_of(own_key)
    if own is None or limit is None:
        return None
    mine = headroom_ratio(*own.arrays(since=since), sign, limit, since, now)
    if mine is None:
        return None
    ratios = []
    for key, window in others(pairs, own_key):
        peer_limit = limit_of(key)
        ratio = None if peer_limit is None else headroom_ratio(*window.arrays(since=since), sign, peer_limit, since, now)
        if ratio is not None:
            ratios.append(ratio)
    return apart(mine, ratios, SPREAD_FLOOR, below_only=True)


__all__ = ["RECENT", "SPREAD_FLOOR", "headroom_ratio", "peer_outlier"]
