"""Evaluation cost at 10,000 and 100,000 series, refits amortised, and memory per series.

One exhaustion predictor (constant limit 100, the default model: robust trends, ETS and STL
candidates, daily profile) over N gauge series at 1-minute points. Each series has three
days of history, put in the store as the store holds it (recent hours raw, older ones as
5-minute means), so every target has its daily profile to fit and its candidates to refit.
The series mix: trends up and down, half of the others with a daily cycle, a tenth
sawtooth (restarts, some at the limit), plus noise.

After the first evaluation (every target's first fit, reported apart), each simulated
minute adds one point per series and calls engine.predict() then engine.refit_pending(), as
the service does around publishing (code from before Engine.predict: engine.evaluate()).
That runs for --minutes of event time: the trend refits (every 5 minutes), the daily profile
(hourly) and the statsmodels candidates (every 3 hours) are staggered across targets, so 3
hours or more puts every kind of refit into the per-loop figures. The garbage collector is
paused while the predictions are made, as the service pauses it until they are published. Wall time (perf_counter)
and CPU time (process_time, every thread of the process) are taken per loop, whole and up to
the predictions (the inference loop's critical path). The baseline, in the same
run, is predict_linear over the same 2 h window, 4 h ahead, for all N series from a numpy
ring buffer.

Memory per series with 3 days of 15 s data: the store (exhaustion/memory.py, points fed one
by one), and everything the engine holds per series (store, model state, policy) after
4 hours of evaluations, by tracemalloc.

  .venv/bin/python bench/scale/evaluate.py [--series 10000,100000] [--minutes 240] [--out DIR]
                                           [--profile FILE] [--memory-series 200]
"""
import argparse
import cProfile
import gc
import json
import math
import os
import pstats
import sys
import time
import tracemalloc
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # one core: no BLAS or OpenMP threads beside the loop

import numpy as np  # noqa: E402 (after the thread limits, which numpy reads when loaded)

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))

T0 = 1767571200  # a UTC midnight
DAY = 86400
HISTORY = 3 * DAY
LIMIT = 100.0
TARGET_P99 = 0.2  # seconds per loop at 10,000 series, one core
AIM_P99 = 0.1
LOOP_P99 = 1.0  # the inference loop up to its predictions (foresight_inference_duration_seconds), any load
from exhaustion.cost import CONFIG as COST_CONFIG  # noqa: E402 (bench/ is on the path from here)
from foresight.runtime.heap import THRESHOLDS, freeze_startup_state, tune_collector  # noqa: E402

try:
    from foresight.runtime.heap import collector_paused
except ImportError:  # code from before it: the collector ran during the predictions
    from contextlib import nullcontext as collector_paused

CONFIG = COST_CONFIG + "    max_targets: {targets}\n"  # the cost bench's predictor, room for every series
DEFAULT_COLLECTOR = gc.get_threshold()


class Signals:
    """N deterministic series: value(t) for any set of series at any times."""

    def __init__(self, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.n = n
        self.level = rng.uniform(20, 75, n)  # value at the end of the history
        self.rate = rng.uniform(-0.2, 0.6, n) / 3600  # per second
        self.daily = np.where(rng.random(n) < 0.5, rng.uniform(3, 10, n), 0.0)
        self.phase = rng.uniform(0, 2 * math.pi, n)
        self.saw = rng.random(n) < 0.1
        self.period = rng.uniform(4, 10, n) * 3600
        self.peak = np.where(rng.random(n) < 0.5, 100.0, 85.0)  # half the sawtooths restart at the limit
        self.shift = rng.uniform(0, 1, n) * self.period
        self.noise = 0.3

    def values(self, idx: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Values of series `idx` (rows) at times `t` (columns; seconds since T0)."""
        i = idx[:, None]
        now = HISTORY
        trend = self.level[i] + self.rate[i] * (t[None, :] - now)
        cycle = self.daily[i] * np.sin(2 * math.pi * t[None, :] / DAY + self.phase[i])
        share = np.mod(t[None, :] + self.shift[i], self.period[i]) / self.period[i]
        saw = 20 + (self.peak[i] - 20) * share
        v = np.where(self.saw[i], saw, trend + cycle)
        return v + rng.normal(0, self.noise, v.shape)


def window_state(t: np.ndarray, v: np.ndarray, settings) -> dict:
    """The state of a Window holding these points as the store would: points older than
    raw_span as means per bin, the rest raw (store.Window.to_state's form)."""
    from foresight.store import means_per_bin

    w = settings.bin_width
    edge = math.floor((t[-1] - settings.raw_span) / w) * w
    k = int(np.searchsorted(t, edge))
    bt, bv = means_per_bin(t[:k], v[:k], w)
    return {"version": 1, "times": np.r_[bt, t[k:]], "values": np.r_[bv, v[k:]], "raw_from": bt.size,
            "raw_span": settings.raw_span, "bin_width": w, "max_age": settings.max_age, "max_raw": settings.max_raw,
            "compact_at": edge + 6 * w + settings.raw_span}


def prefill(engine, signals: Signals, labels: list, step: int, chunk: int = 5000) -> float:
    """Three days of history per series into the engine's store; returns the last time."""
    from foresight.store import Window
    from foresight.store.series_store import _SeriesState

    store = engine.store
    t = np.arange(0, HISTORY + 1, step, dtype=np.float64)
    rng = np.random.default_rng(1)
    for lo in range(0, signals.n, chunk):
        idx = np.arange(lo, min(lo + chunk, signals.n))
        block = signals.values(idx, t, rng)
        for row, i in enumerate(idx):
            window = Window.from_state(window_state(T0 + t, block[row], store.settings))
            key = ("bench_used", labels[i])
            store.import_series(key, {"window": window, "series": _SeriesState(T0 + t[-1], block[row, -1], T0 + t[-1])})
    return T0 + float(t[-1])


def _engine(series: int):
    from foresight.config import parse_config
    from foresight.runtime.engine import Engine

    return Engine(parse_config(CONFIG.format(targets=max(series, 10_000)), "scale-evaluate.yaml"))


def _points(labels: list, t: float, v: np.ndarray) -> list:
    from foresight.contracts.points import GAUGE, Point

    return [Point("bench_used", lab, t, x, GAUGE) for lab, x in zip(labels, v.tolist())]


def series_labels(series: int) -> list:
    """The label sets of N series: ten per host, one per service."""
    return [(("instance", f"host-{i // 10}:9100"), ("job", f"svc-{i}")) for i in range(series)]


def run_evaluate(series: int, minutes: int, profile: Path | None = None) -> dict:
    signals = Signals(series)
    labels = series_labels(series)
    engine = _engine(series)
    tune_collector()  # the garbage collector as `foresight run` sets it (runtime/heap.py)
    tic = time.perf_counter()
    now = prefill(engine, signals, labels, 60)
    prefill_s = time.perf_counter() - tic
    tic, cpu = time.perf_counter(), time.process_time()
    first = engine.evaluate()  # every target's first fit: once at start, reported apart
    first_s, first_cpu = time.perf_counter() - tic, time.process_time() - cpu
    freeze_startup_state()  # as the sidecar does once its warm-up is in
    # predict_linear's ring buffer: the last 2 h of each series, one column per minute
    width = 120
    hist_t = np.arange(HISTORY - 60 * (width - 1), HISTORY + 1, 60, dtype=np.float64)
    buf = signals.values(np.arange(series), hist_t, np.random.default_rng(2))
    col_t = T0 + hist_t.copy()
    noise = np.random.default_rng(3)
    wall, cpu_s, ingest, base, counts, out_wall, out_cpu = [], [], [], [], [], [], []
    split = hasattr(engine, "predict")  # code from before Engine.predict refitted inside evaluate()
    profiler = cProfile.Profile() if profile else None
    for k in range(1, minutes + 1):
        t = now + 60 * k
        v = signals.values(np.arange(series), np.array([t - T0]), noise)[:, 0]
        a = time.perf_counter()
        engine.add_points("metrics", _points(labels, t, v))
        b, c = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        with collector_paused():  # as the service makes and publishes its predictions
            preds = engine.predict() if split else engine.evaluate()
        out_wall.append(time.perf_counter() - b)  # the predictions are out (the service publishes them here)
        out_cpu.append(time.process_time() - c)
        if split:
            engine.refit_pending()
        if profiler:
            profiler.disable()
        d, e = time.perf_counter(), time.process_time()
        ingest.append(b - a)
        wall.append(d - b)
        cpu_s.append(e - c)
        counts.append(len(preds))
        f = time.perf_counter()  # predict_linear(bench_used[2h], 4h) > 100, every series
        col = k % width
        buf[:, col], col_t[col] = v, t
        x = col_t - t
        xc = x - x.mean()
        ym = buf.mean(axis=1)
        slope = (buf @ xc) / (xc @ xc)
        _ = ym + slope * (4 * 3600 - x.mean()) > LIMIT
        base.append(time.perf_counter() - f)
        if k % 10 == 0 or k == 1:
            print(f"{series} series, minute {k}/{minutes}: evaluate {wall[-1]:.3f} s wall, {cpu_s[-1]:.3f} s CPU "
                  f"({len(preds)} predictions, out after {out_cpu[-1]:.3f} s CPU); ingest {ingest[-1]:.3f} s; predict_linear {base[-1] * 1000:.1f} ms",
                  flush=True)
    gc.unfreeze()  # the next series count starts from the default, as a new process would
    gc.set_threshold(*DEFAULT_COLLECTOR)
    if profiler:
        profiler.dump_stats(str(profile))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    errors = sum(engine.errors().values())
    r = {
        "series": series, "minutes": minutes, "prefill_s": prefill_s,
        "first_evaluation_s": first_s, "first_evaluation_cpu_s": first_cpu, "first_predictions": len(first),
        "predictions_per_loop_min": int(min(counts)), "predictions_per_loop_max": int(max(counts)),
        "predictor_errors": int(errors), "collector_thresholds": list(THRESHOLDS),
        "model_fit_errors": int(sum(getattr(p, "model_fit_errors", 0) for p in engine.predictors)),
    }
    r["refits_after_predictions"] = split
    for name, xs in (("evaluate_wall", wall), ("evaluate_cpu", cpu_s), ("ingest_wall", ingest),
                     ("predict_linear_wall", base), ("predictions_out_wall", out_wall),
                     ("predictions_out_cpu", out_cpu)):
        r[name] = {"p50": float(np.percentile(xs, 50)), "p99": float(np.percentile(xs, 99)),
                   "mean": float(np.mean(xs)), "max": float(np.max(xs))}
    r["ratio_p99_to_predict_linear"] = r["evaluate_wall"]["p99"] / r["predict_linear_wall"]["p99"]
    r["ratio_mean_to_predict_linear"] = r["evaluate_wall"]["mean"] / r["predict_linear_wall"]["mean"]
    return r


def engine_memory(series: int, hours: float = 4.0) -> dict:
    """Bytes the engine holds per series (store, model state, policy): 3 days of 15 s points,
    then `hours` of 15 s points with an evaluation each minute, traced by tracemalloc."""
    signals = Signals(series, seed=5)
    labels = [(("instance", f"host-{i}:9100"), ("job", f"svc-{i}")) for i in range(series)]
    tracemalloc.start()
    engine = _engine(series)
    start = tracemalloc.get_traced_memory()[0]
    now = prefill(engine, signals, labels, 15)
    filled = tracemalloc.get_traced_memory()[0]
    noise = np.random.default_rng(6)
    for k in range(1, int(hours * 240) + 1):
        t = now + 15 * k
        v = signals.values(np.arange(series), np.array([t - T0]), noise)[:, 0]
        engine.add_points("metrics", _points(labels, t, v))
        if k % 4 == 0:
            engine.evaluate()
    end = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    window = next(iter(engine.store.windows.values()))
    return {"series": series, "hours_evaluated": hours, "store_after_prefill_bytes_per_series": (filled - start) / series,
            "engine_bytes_per_series": (end - start) / series, "window_points": len(window),
            "window_buffer_bytes": window.nbytes()}


def report(out: Path) -> str:
    """scale-evaluate.md from scale-evaluate.json (every run merged into it)."""
    from exhaustion.memory import DAYS

    data = json.loads((out / "scale-evaluate.json").read_text())
    runs = sorted(data.get("evaluate", {}).values(), key=lambda r: (r["series"], r["label"]))
    lines = ["| series | code | minutes timed | evaluate per loop, wall: p50 / **p99** / mean | "
             "CPU per loop: p50 / **p99** / mean | predict_linear, wall: p50 / p99 | p99 / predict_linear p99 "
             "(wall; CPU) | predictions out (the inference loop's critical path), CPU: p50 / **p99** | "
             "first evaluation, wall / CPU | load average (start, end) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        w, c, b = r["evaluate_wall"], r["evaluate_cpu"], r["predict_linear_wall"]
        critical = r.get("predictions_out_cpu")
        critical = (f"{critical['p50']:.3f} / **{critical['p99']:.3f}** s"
                    + ("" if r.get("refits_after_predictions") else " (refits inside)") if critical else "whole loop")
        lines.append(f"| {r['series']:,} | {r['label']} | {r['minutes']} | {w['p50']:.3f} / **{w['p99']:.3f}** / "
                     f"{w['mean']:.3f} s | {c['p50']:.3f} / **{c['p99']:.3f}** / {c['mean']:.3f} s | "
                     f"{b['p50'] * 1000:.1f} / {b['p99'] * 1000:.1f} ms | {r['ratio_p99_to_predict_linear']:.0f}x; "
                     f"{c['p99'] / b['p99']:.0f}x | {critical} | "
                     f"{r['first_evaluation_s']:.1f} / {r['first_evaluation_cpu_s']:.1f} s | "
                     f"{r['load_average'][0]:.1f}, {r['load_average'][1]:.1f} |")
    verdicts = []
    for r in runs:
        if r["series"] == 10_000:
            p99, cpu99 = r["evaluate_wall"]["p99"], r["evaluate_cpu"]["p99"]
            verdicts.append(f"- {r['label']}: target p99 <= {TARGET_P99} s per loop at 10,000 series on one core: "
                            f"{'met' if max(p99, cpu99) <= TARGET_P99 else '**not met**'} "
                            f"({p99:.3f} s wall, {cpu99:.3f} s CPU; aim {AIM_P99} s).")
            if "predictions_out_wall" in r:
                wall_out, cpu_out = r["predictions_out_wall"]["p99"], r["predictions_out_cpu"]["p99"]
                verdicts.append(f"  The inference loop up to its predictions, p99 <= {LOOP_P99} s at 10,000 series: "
                                f"{'met' if max(wall_out, cpu_out) <= LOOP_P99 else '**not met**'} "
                                f"({wall_out:.3f} s wall, {cpu_out:.3f} s CPU).")
    text = [
        "# Evaluation cost at many series, refits amortised", "",
        "`bench/scale/evaluate.py`: one exhaustion predictor (default model: robust trends, ETS and STL "
        "candidates, daily profile) over N series at 1-minute points, 3 days of history each; one "
        "engine.evaluate() per simulated minute, every target evaluated each time. Refits are staggered "
        "evenly across targets (a target's first profile refit falls at its own point of its first hour, its "
        "first candidate refit at its own point of its first 3 hours), so every timed minute carries its share "
        "of each kind: about 1/5 of the targets refit their trends (every 5 min), 1/60 their daily profile "
        "(hourly), 1/180 their statsmodels candidates (every 3 h). A run of 180 minutes or more holds every "
        "target's refits of each kind; a shorter one (see minutes timed) the same share per minute, with "
        "fewer loops behind its p99. Wall time, and CPU time (time.process_time: every thread of the process; BLAS and OpenMP "
        "limited to one thread), per loop; predict_linear over the same 2 h window for every series in the "
        "same run. The machine has 2 cores shared with other work: the load average is in the table, and "
        "CPU time is the fairer figure when it is high. Python's garbage collector is set as `foresight run` "
        "sets it (runtime/heap.py: thresholds (50,000, 20, 10), the start-up state frozen after the first "
        "evaluation, and paused while the predictions are made, as the service pauses it until they are "
        "published); runs of code from before that module ran with Python's defaults (700, 10, 10), and "
        "code from before the pause collected during the predictions. "
        "Since Engine.predict, the scheduled refits run after a loop's predictions are out (as the service "
        "publishes them), on the data that loop saw: the evaluate columns are the whole loop, refits included, "
        "and 'predictions out' is the part before publication, which foresight_inference_duration_seconds "
        "times. Code from before ran its refits inside the loop, before its predictions.",
        "", *lines, "", *verdicts, "",
    ]
    mem = data.get("memory")
    if mem:
        tiered = mem["store"]["tiered: raw 3-3.5 h, then 5-minute means"]
        engine = mem["engine"]
        text += [f"## Memory per series, {DAYS} days of 15 s data", "",
                 "| what | bytes per series |", "|---|---|",
                 f"| the store's window, points fed one by one (exhaustion/memory.py, 50 series) | "
                 f"{tiered['bytes_per_series'] / 1024:.1f} KB |",
                 f"| everything the engine holds (store, model state, policy), {engine['series']} series after "
                 f"3 days of history and {engine['hours_evaluated']:g} h of 15 s points evaluated each minute | "
                 f"{engine['engine_bytes_per_series'] / 1024:.1f} KB |",
                 f"| of which the store right after the history went in | "
                 f"{engine['store_after_prefill_bytes_per_series'] / 1024:.1f} KB |",
                 f"| of which one window's buffers at the end (spare capacity included) | "
                 f"{engine['window_buffer_bytes'] / 1024:.1f} KB |",
                 f"| the rest: the model's state per target, the policy's and the store's bookkeeping | "
                 f"{(engine['engine_bytes_per_series'] - engine['window_buffer_bytes']) / 1024:.1f} KB |", ""]
    md = "\n".join(text)
    (out / "scale-evaluate.md").write_text(md)
    return md


def _merge(out: Path, key: str, value):
    """Put one result into scale-evaluate.json, keeping the others (runs may be separate processes)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scale-evaluate.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    if key == "memory":
        data["memory"] = value
    else:
        data.setdefault("evaluate", {})[key] = value
    path.write_text(json.dumps(data, indent=1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", default="10000,100000", help="comma-separated series counts (default %(default)s)")
    p.add_argument("--minutes", type=int, default=240, help="simulated minutes timed, >= 180 (default %(default)s)")
    p.add_argument("--out", type=Path, default=BENCH / "bench-results", help="results folder (default %(default)s)")
    p.add_argument("--label", default="this code", help="names the code measured in the table (default %(default)s)")
    p.add_argument("--profile", type=Path, help="cProfile the timed loops of the first series count into this file")
    p.add_argument("--memory-series", type=int, default=200, help="series for the memory figures (0: skip)")
    args = p.parse_args(argv)
    if args.minutes < 180:
        print("note: under 180 minutes the 3-hourly candidate refits are not all in the figures", file=sys.stderr)
    for i, n in enumerate(int(s) for s in args.series.split(",") if s):
        load = os.getloadavg()[0]
        r = run_evaluate(n, args.minutes, args.profile if i == 0 else None)
        r["label"], r["load_average"] = args.label, [load, os.getloadavg()[0]]
        print(json.dumps(r, indent=1), flush=True)
        _merge(args.out, f"{n}:{args.label}", r)
    if args.memory_series:
        from exhaustion.memory import measure

        _merge(args.out, "memory", {"store": measure(15, 50), "engine": engine_memory(args.memory_series)})
    print(report(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
