"""Prometheus `predict_linear` alert rules, emulated causally and vectorised with numpy.

Rules are evaluated every `interval` (1 min) on a regular grid of evaluation times. At
evaluation time t:
- a range selector `x[R]` holds the samples with timestamps in (t - R, t];
- `predict_linear(x[R], H)` is the least-squares line of value against (timestamp - t),
  evaluated at H (Prometheus regresses against time relative to the evaluation time);
  it has no value with fewer than 2 samples;
- an instant selector (`x`, `limit`) is the newest sample in (t - 5m, t] (staleness);
- an alert with `for: D` fires at t when its condition held at every evaluation in
  [t - D, t] (pending since t0, firing once t - t0 >= D).
"""
import numpy as np

# `for:` has one emulation, Foresight's own (backtests' alerts.csv use it too).
from foresight.runtime.alert_episodes import hold_for

LOOKBACK_DELTA = 300.0


def eval_grid(ts: np.ndarray, interval: float = 60.0) -> np.ndarray:
    first = np.ceil(ts[0] / interval) * interval
    return np.arange(first, ts[-1] + 1e-9, interval)


def predict_linear(ts, values, grid, window: float, horizon: float) -> np.ndarray:
    """predict_linear(values[window], horizon) at each grid time (NaN where no value)."""
    ts = np.asarray(ts, dtype=np.float64)
    scale = float(np.max(np.abs(values))) or 1.0
    y = np.asarray(values, dtype=np.float64) / scale
    x = ts - ts[0]
    c = lambda a: np.concatenate([[0.0], np.cumsum(a)])  # noqa: E731
    cn, cx, cy, cxx, cxy = c(np.ones_like(x)), c(x), c(y), c(x * x), c(x * y)
    hi = np.searchsorted(ts, grid, side="right")
    lo = np.searchsorted(ts, grid - window, side="right")
    n = cn[hi] - cn[lo]
    sx, sy, sxx, sxy = (a[hi] - a[lo] for a in (cx, cy, cxx, cxy))
    with np.errstate(invalid="ignore", divide="ignore"):
        sxx_c = sxx - sx * sx / n
        slope = (sxy - sx * sy / n) / sxx_c
        xbar, ybar = sx / n, sy / n
        # Line through (xbar, ybar); value at t + H where t is grid time (in x units).
        out = ybar + slope * ((grid - ts[0]) + horizon - xbar)
    out = np.where((n >= 2) & (sxx_c > 0), out, np.nan)
    return out * scale


def instant(ts, values, grid) -> np.ndarray:
    """Newest sample in (t - 5m, t], NaN when stale."""
    idx = np.searchsorted(ts, grid, side="right") - 1
    ok = (idx >= 0)
    idx_c = np.clip(idx, 0, None)
    ok &= (grid - ts[idx_c]) < LOOKBACK_DELTA
    return np.where(ok, np.asarray(values, dtype=np.float64)[idx_c], np.nan)


def classic(ts, used, limit, grid):
    """predict_linear(used[1h], 4h) > limit, for: 5m."""
    cond = predict_linear(ts, used, grid, 3600, 4 * 3600) > instant(ts, limit, grid)
    return hold_for(grid, cond, 300)


def node_mixin(ts, used, limit, grid):
    """warning: used/limit > 0.6 and predict_linear(used[6h], 24h) > limit, for 1h;
    critical: used/limit > 0.8 and predict_linear(used[6h], 4h) > limit, for 1h. Fires on either."""
    lim = instant(ts, limit, grid)
    share = instant(ts, used, grid) / lim
    warn = (share > 0.6) & (predict_linear(ts, used, grid, 6 * 3600, 24 * 3600) > lim)
    crit = (share > 0.8) & (predict_linear(ts, used, grid, 6 * 3600, 4 * 3600) > lim)
    return hold_for(grid, warn, 3600) | hold_for(grid, crit, 3600)


METHODS = {"classic predict_linear": classic, "node-mixin": node_mixin}


def run_baselines(ts, used, limit, interval: float = 60.0) -> tuple[np.ndarray, dict]:
    grid = eval_grid(ts, interval)
    return grid, {name: fn(ts, used, limit, grid) for name, fn in METHODS.items()}
