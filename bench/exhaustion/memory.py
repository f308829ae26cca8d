"""Bytes per series held by the store, for three days of points at 15 s and at 60 s.

The store keeps the last hours of points raw and older ones as five-minute means, so it is
sized by time. The baseline is the store before that change, measured in the same run: the
last 5,000 points per series (about 21 h at a 15 s scrape, too little for the daily profile's
two whole days). Memory is what tracemalloc sees allocated by the store while N series are
fed, divided by N: buffers, spare capacity, per-series state and dictionary entries.
"""
import json
import tracemalloc
from pathlib import Path

import numpy as np

T0 = 1767571200
DAYS = 3
TARGET_BYTES = 64 * 1024
_PROFILE_DAYS = 2  # whole days the daily profile needs


class PointCountWindow:
    """The window before the change (its code, for the baseline): the last `max_points`
    points in numpy buffers that double when full."""

    def __init__(self, max_points: int = 5000, max_age: float = 7 * 86400, capacity: int = 64):
        self.max_points, self.max_age = max_points, max_age
        self._t, self._v = np.empty(capacity), np.empty(capacity)
        self._start = self._end = 0

    def append(self, t: float, v: float):
        if self._end == self._t.size:
            count = self._end - self._start
            if count * 2 > self._t.size:
                t_, v_ = np.empty(self._t.size * 2), np.empty(self._t.size * 2)
            else:
                t_, v_ = self._t, self._v
            t_[:count], v_[:count] = self._t[self._start:self._end], self._v[self._start:self._end]
            self._t, self._v, self._start, self._end = t_, v_, 0, count
        self._t[self._end], self._v[self._end] = t, v
        self._end += 1
        self._start = max(self._start, self._end - self.max_points)
        if self._t[self._start] < t - self.max_age:
            self._start += int(np.searchsorted(self._t[self._start:self._end], t - self.max_age))

    @property
    def times(self) -> np.ndarray:
        return self._t[self._start:self._end]


def _measure(make_and_feed, series: int) -> tuple[float, object]:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = make_and_feed()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / series, held


def measure(step: float, series: int) -> dict:
    """Both stores fed the same `series` gauges for DAYS days at `step` seconds."""
    from foresight.contracts.points import GAUGE, Point
    from foresight.store import SeriesStore

    times = (T0 + np.arange(0, DAYS * 86400, step)).tolist()
    labels = [(("instance", f"host-{i}:9100"), ("job", "node")) for i in range(series)]
    rng = np.random.default_rng(0)
    values = rng.normal(size=(len(times), series)).tolist()

    def old():
        windows = [PointCountWindow() for _ in range(series)]
        for t, row in zip(times, values):
            for w, v in zip(windows, row):
                w.append(t, v)
        return windows

    def new():
        store = SeriesStore(lambda metric, labels: True)
        for t, row in zip(times, values):
            store.add_points([Point("node_memory_MemAvailable_bytes", lab, t, v, GAUGE)
                              for lab, v in zip(labels, row)])
        return store

    old_bytes, old_windows = _measure(old, series)
    new_bytes, store = _measure(new, series)
    window = next(iter(store.windows.values()))
    out = {}
    for name, per_series, held_from, raw in (
            ("before: last 5,000 points", old_bytes, old_windows[0].times[0], len(old_windows[0].times)),
            ("tiered: raw 3-3.5 h, then 5-minute means", new_bytes, window.times[0],
             len(window) - int(np.searchsorted(window.times, window.raw_since)))):
        hours = (times[-1] - held_from) / 3600
        out[name] = {"bytes_per_series": float(per_series), "hours_held": float(hours), "raw_points": int(raw),
                     "daily_profile_possible": bool(hours >= _PROFILE_DAYS * 24)}
    return out


def run_memory(out: Path, series: int = 50) -> dict:
    results = {f"{step}s": measure(step, series) for step in (15, 60)}
    lines = ["| scrape | store | bytes per series | history held | raw points | 2 days for the daily profile |",
             "|---|---|---|---|---|---|"]
    for scrape, stores in results.items():
        for name, r in stores.items():
            lines.append(f"| {scrape} | {name} | {r['bytes_per_series'] / 1024:.1f} KB | {r['hours_held']:.1f} h | "
                         f"{r['raw_points']} | {'yes' if r['daily_profile_possible'] else '**no**'} |")
    tiered = [s["tiered: raw 3-3.5 h, then 5-minute means"]["bytes_per_series"] for s in results.values()]
    met = max(tiered) < TARGET_BYTES
    summary = (f"Target: under {TARGET_BYTES // 1024} KB per series for {DAYS} days at 15 s and at 60 s: "
               f"{'met' if met else '**not met**'} ({max(tiered) / 1024:.1f} KB at most).")
    table = "\n".join(lines)
    print(table)
    print(summary)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.json").write_text(json.dumps({"series": series, "days": DAYS, "results": results,
                                                 "target_bytes": TARGET_BYTES, "target_met": met}, indent=1))
    (out / "memory.md").write_text(f"# Store memory ({DAYS} days per series, {series} series measured)\n\n"
                                   + table + "\n\n" + summary + "\n")
    return results
