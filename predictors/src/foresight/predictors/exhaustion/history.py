"""The parts of a target's history its fits read: since its last reset, its last day with
the daily profile and bursts taken out, and how high its bursts rise."""
import math

import numpy as np

from foresight.store import Window

from .bursts import burst_heights, outside_bursts, raw_hourly_highs
from .resets import last_reset
from .seasonality import DAY
from .state import TargetState


def since_reset(state: TargetState, window: Window, sign: float, since: float) -> tuple[np.ndarray, np.ndarray]:
    """The points since `since` and since the target's last reset, mirrored by `sign`."""
    if state.resets.cycle_start is not None:
        # The last reset seen: once its fall is in the store's five-minute means, it can
        # look too shallow to find again.
        since = max(since, state.resets.cycle_start[0])
    t, v = window.arrays(since=since)
    v = sign * v
    reset = last_reset(t, v, state.reset_drop)
    if reset is not None:
        t, v = t[reset[1]:], v[reset[1]:]
    return t, v


def deseasonalised_day(state: TargetState, window: Window, sign: float, now: float,
                       min_points: int) -> tuple[np.ndarray, np.ndarray]:
    """The last day since the last reset, with the daily profile (if any) and bursts taken out."""
    t, v = since_reset(state, window, sign, now - DAY)
    if state.profile is not None:
        v = v - state.profile.at(t)
    if state.burst > 0.0 and t.size >= min_points:
        keep = outside_bursts(t, v, state.burst, now)
        t, v = t[keep], v[keep]
    return t, v


def bursts_of(state: TargetState, window: Window, sign: float, limit: float, now: float) -> tuple[float, float]:
    """The heights of the target's bursts over the last day (bursts.py), resets and all: a
    reset is one hour of the day's 24, and bursts tell the falls that are not resets. Keeps
    the raw hourly highs of the hours not kept yet in `state.burst_highs`."""
    t, v = window.arrays(since=now - DAY)
    v = sign * v
    span = max(sign * limit, float(v.max(initial=-math.inf))) - min(sign * limit, float(v.min(initial=math.inf)))
    if state.profile is not None:
        v = v - state.profile.at(t)
    raw = window.raw_since
    if raw is not None:
        first = int(np.searchsorted(t, raw))
        known = state.burst_highs[-1][0] if state.burst_highs else -math.inf
        state.burst_highs.extend(h for h in raw_hourly_highs(t[first:], v[first:]) if h[0] > known)
    return burst_heights(t, v, span, state.burst > 0.0, [high for _, high in state.burst_highs])
