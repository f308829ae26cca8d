"""Shape functions for the crash-run generator (`cluster.py`): autocorrelated noise, the
daily traffic cycle, start-up ramps, decaying bumps, windows, fills and counters.

Plain numpy (and scipy's `lfilter` for the recursive filters) on arrays of true time in
unix seconds. Written for the held-out crash-run bench, independently of `loadgen/`.
"""
import numpy as np
from scipy.signal import lfilter

DAY = 86400.0


def ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """AR(1) noise, coefficient `phi` per sample, stationary std `sigma`; it starts from
    the stationary law so the first minutes are as noisy as the rest."""
    e = rng.normal(0.0, sigma * np.sqrt(1.0 - phi * phi), n)
    e[0] = rng.normal(0.0, sigma)
    return lfilter([1.0], [1.0, -phi], e)


def noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Noise with std about `sigma` that wanders: a slow part (hours), a medium part
    (minutes) and a little white noise on top."""
    slow = ar1(rng, n, 0.9985, 0.6 * sigma)
    medium = ar1(rng, n, 0.96, 0.7 * sigma)
    return slow + medium + rng.normal(0.0, 0.35 * sigma, n)


def daily(t: np.ndarray, peak_hour: float, peakiness: float) -> np.ndarray:
    """The day's traffic shape in [-1, 1]: 1 at `peak_hour` (UTC), -1 twelve hours later.
    The larger `peakiness`, the shorter the afternoon peak and the longer the flat night."""
    c = np.cos(2.0 * np.pi * ((t / 3600.0 - peak_hour) % 24.0) / 24.0)
    lo, hi = np.exp(-peakiness), np.exp(peakiness)
    return 2.0 * (np.exp(peakiness * c) - lo) / (hi - lo) - 1.0


def since(t: np.ndarray, events) -> np.ndarray:
    """Seconds since the latest event at or before each t; inf before the first event."""
    ev = np.sort(np.asarray(list(events), dtype=float))
    out = np.full(t.shape, np.inf)
    if ev.size == 0:
        return out
    i = np.searchsorted(ev, t, side="right") - 1
    ok = i >= 0
    out[ok] = t[ok] - ev[i[ok]]
    return out


def startup(t: np.ndarray, starts, duration: float) -> np.ndarray:
    """How far a process has warmed up: 0 at each (re)start, an S-shaped rise, 1 after
    about `duration` seconds (98% there) and flat from then on; 1 before the first start."""
    tau = duration / 5.8  # (1 + x) e^-x falls to 2% at x = 5.8
    x = since(t, starts) / tau
    with np.errstate(invalid="ignore"):
        left = np.where(np.isinf(x), 0.0, (1.0 + x) * np.exp(-np.minimum(x, 700.0)))
    return 1.0 - left


def bumps(t: np.ndarray, events, tau: float) -> np.ndarray:
    """Sum of jumps to 1 at each event, decaying with time constant `tau` (0 before)."""
    out = np.zeros(t.shape)
    for e in events:
        x = t - e
        after = x >= 0
        out[after] += np.exp(-x[after] / tau)
    return out


def window(t: np.ndarray, spans, edge: float) -> np.ndarray:
    """1 inside each (begin, end) span and 0 outside, with linear edges of `edge` s."""
    out = np.zeros(t.shape)
    for begin, end in spans:
        up = np.clip((t - begin) / edge, 0.0, 1.0)
        down = np.clip((end - t) / edge, 0.0, 1.0)
        out = np.maximum(out, np.minimum(up, down))
    return out


def fill_drain(t: np.ndarray, spans, rise: float, fall: float) -> np.ndarray:
    """Something that builds up during each span (time constant `rise`) and drains slowly
    after it (time constant `fall`): the page cache a batch job leaves behind."""
    out = np.zeros(t.shape)
    for begin, end in spans:
        inside = (t >= begin) & (t < end)
        out[inside] = np.maximum(out[inside], 1.0 - np.exp(-(t[inside] - begin) / rise))
        peak = 1.0 - np.exp(-(end - begin) / rise)
        after = t >= end
        out[after] = np.maximum(out[after], peak * np.exp(-(t[after] - end) / fall))
    return out


def ramp_to(t: np.ndarray, begin: float, seconds: float) -> np.ndarray:
    """0 before `begin`, rising linearly to 1 over `seconds`: a fault's onset."""
    return np.clip((t - begin) / seconds, 0.0, 1.0)


def progress(x: np.ndarray, accel: float) -> np.ndarray:
    """How much of a leak or fill is done at x = (t - fault start) / nominal duration:
    0 before, 1 at x = 1 and still growing after; linear for accel 0, otherwise the rate
    grows exponentially (accel = log of the rate's growth over the nominal duration)."""
    x = np.maximum(x, 0.0)
    if accel <= 0.0:
        return x
    return np.expm1(accel * x) / np.expm1(accel)


def sawtooth(t: np.ndarray, rate: float, compactions, keep: float, length: float) -> np.ndarray:
    """Bytes a store writes at `rate` per second from t[0]; each compaction (lasting
    `length` s) frees all but `keep` of what was written since the one before."""
    out = rate * (t - t[0])
    previous = t[0]
    for c in compactions:
        freed = (1.0 - keep) * rate * (c - previous)
        out -= freed * np.clip((t - c) / length, 0.0, 1.0)
        previous = c
    return out


def ewma(x: np.ndarray, alpha: float) -> np.ndarray:
    """Exponentially weighted moving average, started at x[0] (the kernel's load average)."""
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])
    return y


def counter(rate: np.ndarray, instants: np.ndarray, first: float, resets,
            quantum: float) -> np.ndarray:
    """A cumulative counter read at `instants` from a per-second rate (rate[k] holds over
    (instants[k-1], instants[k]]), worth `first` at the first reading. At each reset index
    it starts again from what was counted since the reading before. Floored to `quantum`,
    the counter's resolution (cpu seconds in 1/100 s, packets whole)."""
    dt = np.diff(instants, prepend=instants[0])
    total = first + np.cumsum(rate * dt)
    for k in sorted(resets):
        if 0 < k < len(total):
            total[k:] -= total[k - 1]
    return np.floor(total / quantum + 1e-9) * quantum
