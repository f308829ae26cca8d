"""A young exhaustion target at risk, against its peers (foresight.predictors.peers).

Until its daily pattern is known (`policy.min_history`) a target may page only on an
imminent crossing. A young fleet's first afternoon peak, a cluster's start-up or a batch job
on every host looks like one: every target's headroom (its distance to the limit) shrinks
at the same time. So a young target at risk pages only when, over the predictor's
`lookback` (or the time it has been watched, if shorter), its headroom shrank clearly more
than its peers' did over the same time: a fault on one host does that; the fleet's load
does not. Not since it was first seen: members of a fleet settle at unequal levels (JVMs'
heaps after collection read 0 until the first collection, then each its own live set), so
each one's headroom shrank by its own settling, and a later climb would not stand apart.
For the same reason a peer first seen after the window began (a new pod of a rolling
update) is left out, unless the target itself began the window and the peer came within a
quarter hour of it (the pods of one rollout).

A target that joins a fleet late (a replacement host taking its share of the data, a new
pod filling its cache) shrinks alone too, but towards where its peers already are. So one
first seen more than LATE after most of its predictor's targets also has to be clearly
below its peers now: its headroom more than AWAY robust spreads under theirs. A fault that
takes it to its limit gets it there before the crossing is imminent; filling up to the
fleet's level does not. Targets that started with the fleet are not held to that: the
peers of a small fleet may differ in size, and a fault may take several of them at once.

A target is judged so while its own daily pattern is not known: watched for less than
`policy.min_history`, or, without a daily profile, for less than `policy.peer_history` (by
default the two days a profile needs: a fleet's second afternoon climbs as its first did).

A fleet's load multiplies every member's use alike, and the member nearest its limit then
loses the largest share of its headroom: a busy host's tracked connections at 85% climb
into the day's first peak with its peers', and its headroom halves while theirs shrinks by
a tenth. So for a filling resource (one whose value is its use, counted from 0) whose
peers' use grew clearly (their median log growth above GROWTH_FLOOR), the target's use
must also have grown clearly more than theirs did: more than AWAY robust spreads (at least
GROWTH_FLOOR) above their growths, as log ratios. A fault on one host does that; the
fleet's load does not. Where the peers' use held (a slow leak in a steady fleet: near its
limit, a few percent more use is most of its headroom), or growth cannot be judged (too
few peers with use then, or none of its own), the headroom alone decides, as it does for a
draining resource.

Headroom is compared as a ratio (now over then) for the shrinking and as a logarithm for
the level, use as a log ratio for the growth, so targets of different sizes compare.
Strictly causal; judged only for targets at risk.
"""
import math

import numpy as np

from foresight.predictors.peers import MIN_PEERS, apart, others

RECENT = 900.0  # where a series is: the median of a quarter hour of its points
SPREAD_FLOOR = 0.05  # of the headroom ratio: peers that all moved alike still leave some room
LEVEL_FLOOR = 0.1  # of the log headroom: levels within ~10% of each other are alike
GROWTH_FLOOR = 0.05  # of the log growth of use: peers whose use grew within ~5% of each other grew alike
TINY = 1e-12  # a headroom at or past the limit, for its logarithm
LATE = 3600.0  # first seen this much later than most of the predictor's targets: it joined late


def pattern_unknown(prediction, policy) -> bool:
    """Whether a prediction's target does not know its daily pattern yet: watched for less
    than `policy.min_history`, or, without a daily profile, for less than
    `policy.peer_history` (by default the two days a profile needs, and its next refit)."""
    return prediction.history_seconds < policy.pattern_known_after(prediction.daily_profile_days)


def joined_late(watched: float, typical: float) -> bool:
    """Whether a target watched for `watched` seconds joined more than LATE after most of
    its predictor's targets (`typical`: the median of how long each has been watched)."""
    return watched < typical - LATE


def recent_median(times: np.ndarray, values: np.ndarray, now: float) -> float | None:
    """The median of the quarter hour up to `now` (times are sorted); None without points."""
    last = values[times.searchsorted(now - RECENT, side="right"):]
    return float(np.median(last)) if last.size else None


def then_and_now(times: np.ndarray, values: np.ndarray, since: float, now: float) -> tuple[float, float] | None:
    """The medians of the quarter hour from `since` and of the quarter hour up to `now`;
    None without points in both."""
    first = values[times.searchsorted(since):times.searchsorted(since + RECENT)]  # times are sorted
    last = recent_median(times, values, now)
    if first.size == 0 or last is None:
        return None
    return float(np.median(first)), last


def headroom_ratio(times: np.ndarray, values: np.ndarray, sign: float, limit: float,
                   since: float, now: float) -> float | None:
    """Headroom in the quarter hour up to `now` over headroom in the quarter hour from
    `since` (medians); None without points in both, or without headroom at first."""
    return ratio_of(then_and_now(times, values, since, now), sign, limit)


def use_growth(times: np.ndarray, values: np.ndarray, since: float, now: float) -> float | None:
    """log of a filling resource's use (its value) in the quarter hour up to `now` over that
    in the quarter hour from `since` (medians); None without points in both, or without
    use at first or now."""
    return growth_of(then_and_now(times, values, since, now))


def ratio_of(medians: tuple[float, float] | None, sign: float, limit: float) -> float | None:
    """headroom_ratio from then_and_now's medians."""
    if medians is None or sign * (limit - medians[0]) <= 0.0:
        return None
    return sign * (limit - medians[1]) / (sign * (limit - medians[0]))


def growth_of(medians: tuple[float, float] | None) -> float | None:
    """use_growth from then_and_now's medians."""
    if medians is None or medians[0] <= 0.0 or medians[1] <= 0.0:
        return None
    return math.log(medians[1] / medians[0])


def log_headroom(times: np.ndarray, values: np.ndarray, sign: float, limit: float, now: float) -> float | None:
    """log of the headroom in the quarter hour up to `now` (its median); None without points."""
    last = recent_median(times, values, now)
    if last is None:
        return None
    return math.log(max(sign * (limit - last), TINY))


def fleet_grew(growths: list) -> bool:
    """Whether the peers' use (their log growths) grew clearly, at the median: the fleet's
    load rose."""
    return len(growths) >= MIN_PEERS and float(np.median(growths)) > GROWTH_FLOOR


def peer_outlier(own_key: tuple, own, pairs: list, limit_of, sign: float, since: float, now: float,
                 late: bool = False) -> bool | None:
    """For the target whose series is `own_key` (its Window `own`), watched since `since`:
    whether its headroom shrank clearly more than its peers' since then (for a filling
    resource, `sign` 1, its use also grew clearly more than theirs; for one that joined
    `late`, it is also clearly below them now). `pairs` are (series key, Window) of the
    predictor's series; `limit_of(series key)` gives a series' limit (None: not a peer).
    None when it cannot be judged (too few peers watched that long)."""
    limit = limit_of(own_key)
    if own is None or limit is None:
        return None
    times, values = own.arrays(since=since)
    own_medians = then_and_now(times, values, since, now)
    mine = ratio_of(own_medians, sign, limit)
    if mine is None:
        return None
    # A target first seen at `since` started with the peers first seen within a quarter hour of it.
    fellows = RECENT if float(own.times[0]) >= since - 1.0 else 0.0
    ratios, peer_medians, levels = [], [], []
    for key, window in others(pairs, own_key):
        peer_limit = limit_of(key)
        if peer_limit is None or not window.times.size or float(window.times[0]) > since + fellows:
            continue  # no limit, or first seen after `since`: its headroom shrank by its own start-up
        peer_times, peer_values = window.arrays(since=since)
        medians = then_and_now(peer_times, peer_values, since, now)
        ratio = ratio_of(medians, sign, peer_limit)
        if ratio is not None:
            ratios.append(ratio)
            peer_medians.append(medians)
            if late:  # only a late joiner's level is compared
                levels.append(log_headroom(peer_times, peer_values, sign, peer_limit, now))
    shrank = apart(mine, ratios, SPREAD_FLOOR, below_only=True)
    if shrank and sign > 0 and (growth := growth_of(own_medians)) is not None:
        growths = [g for g in map(growth_of, peer_medians) if g is not None]
        if fleet_grew(growths):
            # Grew apart: its growth, mirrored, lies below the peers' mirrored growths.
            shrank = apart(-growth, [-g for g in growths], GROWTH_FLOOR, below_only=True)
    if not shrank or not late:
        return shrank
    return apart(log_headroom(times, values, sign, limit, now), levels, LEVEL_FLOOR, below_only=True)


__all__ = ["GROWTH_FLOOR", "LATE", "LEVEL_FLOOR", "RECENT", "SPREAD_FLOOR", "fleet_grew", "growth_of", "headroom_ratio",
           "joined_late", "log_headroom", "pattern_unknown", "peer_outlier", "ratio_of", "recent_median", "then_and_now",
           "use_growth"]
