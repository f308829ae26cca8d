"""The training plot: a few targets over the training window, with the model each used.

Exhaustion targets (those that reached their limit first, then the busiest): the watched
series, its limit, the 6-hour-ahead median forecast drawn where it was aimed (at t + 6 h),
and the forecaster in use shaded behind. Anomaly targets: the series, with alarms shaded
and the score beside it.
"""
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .scoring import crossings  # noqa: E402

MAX_TARGETS = 4
_COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def _chosen(config, recorder) -> list:
    picked = []
    for predictor in config.predictors:
        columns = recorder.columns(predictor.name)
        direction = getattr(predictor, "direction", "up")

        def rank(item):
            key, c = item
            reached = len(crossings(c["t"], c["observed"], c["limit"], direction)) if predictor.kind == "exhaustion" \
                else int(np.sum(c["risk"] > 0))
            return (-reached, -len(c["t"]))

        picked += [(predictor, key, c) for key, c in sorted(columns.items(), key=rank)[:2]]
    return picked[:MAX_TARGETS]


def _spans(times, names):
    """(start, end, name) runs of the same model."""
    runs, start = [], 0
    for i in range(1, len(names) + 1):
        if i == len(names) or names[i] != names[start]:
            runs.append((times[start], times[i - 1], names[start]))
            start = i
    return runs


def plot_models(config, recorder, episodes: dict, path):
    """Write the PNG; returns its path, or None when no target was evaluated."""
    picked = _chosen(config, recorder)
    if not picked:
        return None
    fig, axes = plt.subplots(len(picked), 1, figsize=(11, 2.8 * len(picked)), squeeze=False)
    colours = {}
    for ax, (predictor, key, c) in zip(axes[:, 0], picked):
        hours = (c["t"] - c["t"][0]) / 3600.0
        ax.plot(hours, c["observed"], color="black", lw=0.8, label="observed")
        labels = ", ".join(f"{k}={v}" for k, v in key[1]) or "(no labels)"
        ax.set_title(f"{predictor.name}: {labels}", fontsize=9, loc="left")
        if predictor.kind == "exhaustion":
            ax.plot(hours, c["limit"], color="#c44e52", lw=1, ls="--", label="limit")
            ax.plot(hours + 6.0, c["f6h"], color="#4c72b0", lw=0.8, alpha=0.8, label="6 h-ahead forecast (p50)")
            for start, end, name in _spans(hours, c["model"]):
                colour = colours.setdefault(name, _COLOURS[len(colours) % len(_COLOURS)])
                ax.axvspan(start, end, color=colour, alpha=0.15, lw=0)
            for name, colour in colours.items():
                ax.axvspan(0, 0, color=colour, alpha=0.3, label=f"model: {name or 'none'}")
        else:
            for start, end in episodes.get(predictor.name, {}).get(key, []):
                ax.axvspan((start - c["t"][0]) / 3600, (end - c["t"][0]) / 3600, color="#c44e52", alpha=0.2, lw=0)
            twin = ax.twinx()
            twin.plot(hours, c["score"], color="#8172b3", lw=0.6, alpha=0.7)
            twin.set_ylim(0, 1.05)
            twin.set_ylabel("anomaly score", fontsize=8)
        ax.set_xlabel("hours into the training window", fontsize=8)
        ax.legend(fontsize=7, loc="upper left", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


__all__ = ["plot_models"]
