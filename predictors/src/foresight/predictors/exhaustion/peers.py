"""A young target's prior from its peers: the other targets of its predictor.

Until its daily pattern is known (`policy.min_history`) a target may page only on an
imminent crossing. A young fleet's first afternoon peak, a cluster's start-up or a batch job
on every host looks like one: every target's headroom (its distance to the limit) shrinks
at the same time. The targets of one predictor are alike (the cores of a fleet, its hosts'
memory, the pools of a service), so a young target at risk is judged against them: over the
time it has been watched, did its headroom shrink clearly more than theirs did over the
same time? A fault on one host does that; the fleet's load does not.

Headroom is compared as a ratio (now over then), so targets of different sizes compare.
Strictly causal; judged only for young targets at risk, on at most MAX_PEERS peers.
"""
import numpy as np

RECENT = 900.0  # where a series is: the median of a quarter hour of its points
MIN_PEERS = 3  # fewer peers than this say nothing
MAX_PEERS = 50  # peers taken evenly from the predictor's targets: a bounded cost per judgement
AWAY = 3.0  # robust standard deviations of the peers' ratios
SPREAD_FLOOR = 0.05  # of the headroom: peers that all moved alike still leave some room


def headroom_ratio(times: np.ndarray, values: np.ndarray, sign: float, limit: float,
                   since: float, now: float) -> float | None:
    """Headroom in the quarter hour up to `now` over headroom in the quarter hour from
    `since` (medians); None without points in both, or without headroom at first."""
    first = values[(times >= since) & (times < since + RECENT)]
    last = values[times > now - RECENT]
    if first.size == 0 or last.size == 0:
        return None
    then = sign * (limit - float(np.median(first)))
    if then <= 0.0:
        return None
    return sign * (limit - float(np.median(last))) / then


def shrank_more(own: float, peers: list[float]) -> bool | None:
    """Whether a headroom ratio lies more than AWAY robust spreads below its peers'; None
    with fewer than MIN_PEERS of them."""
    if len(peers) < MIN_PEERS:
        return None
    ratios = np.asarray(peers, dtype=float)
    middle = float(np.median(ratios))
    spread = max(1.4826 * float(np.median(np.abs(ratios - middle))), SPREAD_FLOOR)
    return own < middle - AWAY * spread


def evenly(items: list, most: int) -> list:
    """At most `most` of the items, spread evenly over the list (deterministic)."""
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


def peer_outlier(own_key: tuple, pairs: list, limit_of, sign: float, since: float, now: float) -> bool | None:
    """For the target whose series is `own_key`, watched since `since`: whether its headroom
    shrank clearly more than its peers' since then. `pairs` are (series key, Window) of the
    predictor's series; `limit_of(series key)` gives a series' limit (None: not a peer).
    None when it cannot be judged (too few peers watched that long)."""
    windows = dict(pairs)
    own = windows.get(own_key)
    limit = limit_of(own_key)
    if own is None or limit is None:
        return None
    mine = headroom_ratio(*own.arrays(since=since), sign, limit, since, now)
    if mine is None:
        return None
    ratios = []
    for key, window in evenly([p for p in pairs if p[0] != own_key], MAX_PEERS):
        peer_limit = limit_of(key)
        ratio = None if peer_limit is None else headroom_ratio(*window.arrays(since=since), sign, peer_limit, since, now)
        if ratio is not None:
            ratios.append(ratio)
    return shrank_more(mine, ratios)


__all__ = ["AWAY", "MAX_PEERS", "MIN_PEERS", "RECENT", "SPREAD_FLOOR", "headroom_ratio", "peer_outlier", "shrank_more"]
