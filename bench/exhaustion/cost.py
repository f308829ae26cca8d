"""Cost of Foresight's inference loop on many series vs. predict_linear on the same data.

One exhaustion predictor (constant limit) over N gauge series `bench_used{job="svc-i"}` at
1-minute resolution. After feeding --history, each simulated minute adds one point per
series and calls engine.evaluate(); we report mean and p99 of that loop, and the first
evaluation (every target's first fit) apart. The baseline
computes predict_linear (least squares over the same 2 h window, 4 h ahead) for all N
series from a numpy ring buffer each minute. The same run measures the store's memory per
series (memory.py: three days at 15 s and at 60 s, against the store before it was sized by
time). Python's garbage collector is set as `foresight run` sets it (runtime/heap.py).
"""
import json
import time
from pathlib import Path

import numpy as np

CONFIG = """predictors:
  - name: used
    kind: exhaustion
    series: bench_used
    limit: 100
    horizon: 24h
    lookback: 2h
"""


def _values(n: int, minute: int, rng_slopes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    t = minute
    return 40 + offsets + rng_slopes * t + 2 * np.sin(t / 37.0 + offsets)


def run_cost(series: int, history: str, minutes: int, out: Path) -> dict:
    from foresight.config import parse_config
    from foresight.contracts.durations import parse_duration
    from foresight.contracts.points import GAUGE, Point
    from foresight.runtime.engine import Engine
    from foresight.runtime.heap import freeze_startup_state, tune_collector

    hist_min = int(parse_duration(history) // 60)
    rng = np.random.default_rng(0)
    slopes = rng.uniform(-0.01, 0.05, series)
    offsets = rng.uniform(0, 20, series)
    labels = [(("job", f"svc-{i}"),) for i in range(series)]
    t0 = 1767571200
    engine = Engine(parse_config(CONFIG, "cost.yaml"))
    tune_collector()  # the garbage collector as `foresight run` sets it (runtime/heap.py)
    tic = time.perf_counter()
    for m in range(hist_min):
        v = _values(series, m, slopes, offsets)
        engine.add_points("metrics", [Point("bench_used", labels[i], t0 + 60 * m, float(v[i]), GAUGE)
                                      for i in range(series)])
    feed_s = time.perf_counter() - tic
    tic = time.perf_counter()
    engine.evaluate()  # every target's first fit, once at start (reported, not in the per-minute figures)
    first_s = time.perf_counter() - tic
    freeze_startup_state()  # as the sidecar does once its warm-up is in
    window = 120  # 2 h of 1-minute points, the predictor's lookback
    buf = np.stack([_values(series, m, slopes, offsets) for m in range(hist_min - window, hist_min)], axis=1)
    x = np.arange(-window + 1, 1, dtype=np.float64) * 60.0
    loop, ingest, base = [], [], []
    for k in range(minutes):
        m = hist_min + k
        v = _values(series, m, slopes, offsets)
        points = [Point("bench_used", labels[i], t0 + 60 * m, float(v[i]), GAUGE) for i in range(series)]
        a = time.perf_counter()
        engine.add_points("metrics", points)
        b = time.perf_counter()
        preds = engine.evaluate()
        c = time.perf_counter()
        ingest.append(b - a)
        loop.append(c - b)
        # Baseline: predict_linear(x[2h], 4h) for all series, with the new column.
        d = time.perf_counter()
        buf = np.concatenate([buf[:, 1:], v[:, None]], axis=1)
        xm = x.mean()
        ym = buf.mean(axis=1)
        slope = ((buf - ym[:, None]) @ (x - xm)) / ((x - xm) ** 2).sum()
        pred = ym + slope * (4 * 3600 - xm)
        _ = pred > 100
        base.append(time.perf_counter() - d)
        print(f"minute {k + 1}/{minutes}: evaluate {loop[-1]:.2f} s ({len(preds)} predictions), "
              f"ingest {ingest[-1]:.2f} s, predict_linear {base[-1] * 1000:.1f} ms", flush=True)
    r = {
        "series": series, "history_minutes": hist_min, "minutes_timed": minutes,
        "history_feed_s": feed_s, "first_evaluation_s": first_s,
        "foresight_evaluate_mean_s": float(np.mean(loop)), "foresight_evaluate_p99_s": float(np.percentile(loop, 99)),
        "foresight_ingest_mean_s": float(np.mean(ingest)),
        "foresight_loop_mean_s": float(np.mean(np.add(loop, ingest))),
        "predict_linear_mean_s": float(np.mean(base)), "predict_linear_p99_s": float(np.percentile(base, 99)),
    }
    r["ratio_loop_to_predict_linear"] = r["foresight_loop_mean_s"] / r["predict_linear_mean_s"]
    r["target_loop_under_1s_met"] = r["foresight_loop_mean_s"] < 1.0
    lines = [
        "| figure | value | target |", "|---|---|---|",
        f"| series | {series} | |",
        f"| Foresight evaluate() per minute, mean / p99 | {r['foresight_evaluate_mean_s']:.2f} s / "
        f"{r['foresight_evaluate_p99_s']:.2f} s | |",
        f"| Foresight ingest of one minute's points, mean | {r['foresight_ingest_mean_s']:.2f} s | |",
        f"| Foresight first evaluation (every target's first fit, once at start) | {first_s:.1f} s | |",
        f"| Foresight loop (ingest + evaluate), mean | {r['foresight_loop_mean_s']:.2f} s | < 1 s: "
        f"{'yes' if r['target_loop_under_1s_met'] else '**no**'} |",
        f"| predict_linear (numpy, same series and 2 h window), mean / p99 | {r['predict_linear_mean_s'] * 1000:.1f} ms / "
        f"{r['predict_linear_p99_s'] * 1000:.1f} ms | |",
        f"| ratio Foresight loop / predict_linear | {r['ratio_loop_to_predict_linear']:.0f}x | |",
    ]
    table = "\n".join(lines)
    print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cost.json").write_text(json.dumps(r, indent=1))
    (out / "cost.md").write_text("# Cost benchmark (one core)\n\n" + table + "\n\nPython's garbage collector is set "
                                 "as `foresight run` sets it (runtime/heap.py), the start-up state frozen after "
                                 "the first evaluation.\n")
    from .memory import run_memory

    r["memory"] = run_memory(out)
    return r
