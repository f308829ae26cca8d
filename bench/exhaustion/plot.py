"""A PNG of four cases: series, limit, Foresight's forecast, failures and who alerted when."""
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .suite import START, load_series  # noqa: E402

COLORS = {"Foresight": "tab:green", "classic predict_linear": "tab:red", "node-mixin": "tab:orange"}


def _columns(path: Path, names):
    out = {n: [] for n in names}
    with path.open() as f:
        for row in csv.DictReader(f):
            for n in names:
                v = row.get(n, "")
                out[n].append(float(v) if v not in ("", None) else np.nan)
    return {n: np.array(v) for n, v in out.items()}


def plot(traces: dict, foresight_out: Path, png: Path, prefer=()) -> Path:
    """Four cases: those in `prefer` first (what still goes wrong), then failing ones."""
    failing = [n for n, tr in traces.items() if tr["case"].failures]
    chosen = list(dict.fromkeys([n for n in prefer if n in traces] + failing + list(traces)))[:4]
    fig, axes = plt.subplots(2 * len(chosen), 1, figsize=(15, 4.6 * len(chosen)),
                             gridspec_kw={"height_ratios": [3, 1.3] * len(chosen)})
    for i, name in enumerate(chosen):
        case = traces[name]["case"]
        ax, ax2 = axes[2 * i], axes[2 * i + 1]
        ts, used, limit = load_series(case)
        t0 = START
        hours = (ts - t0) / 3600
        fo = _columns(foresight_out / case.csv.name,
                      ["timestamp", "ttf_p10_seconds", "ttf_p50_seconds", "ttf_p90_seconds",
                       "forecast_1h_p10", "forecast_1h_p90"])
        fh = (fo["timestamp"] - t0) / 3600
        ax.plot(hours, used / limit, color="tab:blue", lw=0.8, label="used / limit")
        ax.axhline(1.0, color="black", lw=1.2, ls="--", label="limit")
        if np.isfinite(fo["forecast_1h_p10"]).any():
            lim = np.interp(fo["timestamp"], ts, limit)
            ax.fill_between(fh + 1.0, fo["forecast_1h_p10"] / lim, fo["forecast_1h_p90"] / lim, color="tab:green",
                            alpha=0.25, lw=0, label="Foresight 1 h-ahead forecast p10–p90")
        for k, f in enumerate(case.failures):
            for a in (ax, ax2):
                a.axvline((f - t0) / 3600, color="crimson", lw=1.3, label="failure" if (k == 0 and a is ax) else None)
        # Alert strips under the series.
        for j, (method, eps) in enumerate(traces[name]["episodes"].items()):
            y = -0.08 - 0.1 * j
            for s, e in eps:
                ax.broken_barh([((s - t0) / 3600, max((e - s) / 3600, 0.15))], (y - 0.04, 0.08),
                               color=COLORS.get(method, "gray"))
            ax.text(hours[0] + 0.3, y, method, ha="left", va="center", fontsize=7, color="white", fontweight="bold",
                    bbox=dict(facecolor=COLORS.get(method, "gray"), edgecolor="none", pad=1))
        ax.set_ylim(-0.08 - 0.1 * len(traces[name]["episodes"]), 1.15)
        ax.set_xlim(hours[0], hours[-1])
        ax.set_title(f"{name}: {len(case.failures)} failure(s); bars = alert episodes", fontsize=11, loc="left")
        ax.set_ylabel("share of limit")
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.legend(loc="upper right", fontsize=8, ncol=4)
        # Time to failure: Foresight's p10–p90 vs the truth.
        cap = 24.0
        p10, p50, p90 = (np.minimum(fo[k] / 3600, cap) for k in ("ttf_p10_seconds", "ttf_p50_seconds", "ttf_p90_seconds"))
        ax2.fill_between(fh, p10, p90, color="tab:green", alpha=0.3, lw=0, label="Foresight TTF p10–p90")
        ax2.plot(fh, p50, color="tab:green", lw=0.8, label="Foresight TTF p50")
        if case.failures:
            f = np.array(case.failures, dtype=float)
            nxt = np.searchsorted(f, ts, side="left")
            true = np.where(nxt < f.size, (f[np.clip(nxt, 0, f.size - 1)] - ts) / 3600, np.nan)
            ax2.plot(hours, np.where(true <= cap, true, np.nan), color="black", lw=1, ls=":", label="true time to failure")
        ax2.set_ylim(0, cap + 1)
        ax2.set_xlim(hours[0], hours[-1])
        ax2.set_ylabel("TTF (h, cap 24)")
        ax2.legend(loc="upper right", fontsize=8, ncol=3)
        ax2.set_xlabel("hours since the suite start (2026-01-05 00:00 UTC, a Monday)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)
    return png
