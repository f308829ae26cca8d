"""The recommended action, with the prediction's numbers filled in.

A predictor's `action` may name these placeholders, in braces:
  {service}   the service at risk
  {observed}  the latest value, in the predictor's unit
  {limit}     the limit it is compared with
  {needed}    "at least N": N is the p90 forecast peak over the next 24 h plus 10%
              headroom, never below the limit (what a new limit must be to cover the
              next day); "more than N" at twice the limit, where a bigger limit only
              buys time and the cause needs finding
  {ttf}       the p50 time to failure, e.g. "2.2 h"
  {score}     the anomaly score (anomaly and logs kinds)

Example: "Increase the DB pool from {limit} to {needed} connections to cover the next
24 h peak" -> "Increase the DB pool from 100 to at least 130 connections ...".
"""
import math
import string

from .durations import humanize_hours

PLACEHOLDERS = ("service", "observed", "limit", "needed", "ttf", "score")
HEADROOM = 1.1
RUNAWAY = 2.0  # a need beyond this multiple of the limit is stated as "more than"
_UNITS = {"bytes": [(2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]}


def check_action(template: str):
    """Raise ValueError naming an unknown placeholder or broken braces."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc} (use {{{{ and }}}} for literal braces)") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (valid: "
                             f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)})")


class _Unknown(dict):
    def __missing__(self, key):
        return "?"


def without_numbers(template: str) -> str:
    """The action text with every placeholder shown as '?': for places without a prediction."""
    return " ".join(template.format_map(_Unknown()).split())


def format_quantity(value: float | None, unit: str) -> str:
    """2147483648 bytes -> '2 GiB'; 130.0 connections -> '130'; None -> 'unknown'."""
    if value is None or not math.isfinite(value):
        return "unknown"
    for size, suffix in _UNITS.get(unit, []):
        if abs(value) >= size:
            return f"{value / size:.3g} {suffix}"
    if unit == "ratio":
        return f"{100 * value:.0f}%"
    if unit == "seconds":
        return humanize_hours(value)
    if unit in ("connections", "requests"):
        return f"{math.ceil(value - 1e-9):.0f}"  # whole units, rounded up: a pool of 129.2 needs 130
    if unit == "bytes":
        return f"{value:.0f} B"
    return f"{value:.3g}"


def needed_capacity(prediction) -> float | None:
    """The p90 forecast peak over the published horizons with headroom; None without a forecast."""
    peaks = [v for (_, q), v in prediction.forecast.items() if q == 0.9 and math.isfinite(v)]
    if not peaks:
        return None
    need = max(peaks) * HEADROOM
    if prediction.limit is not None and math.isfinite(prediction.limit):
        if prediction.limit >= 0:
            need = max(need, prediction.limit)
    return need


def needed_phrase(prediction, unit: str) -> str:
    """'at least 130', or 'more than 200' when the forecast runs away past twice the limit."""
    need = needed_capacity(prediction)
    if need is None:
        return "more (no forecast yet)"
    limit = prediction.limit
    if limit is not None and limit > 0 and need > RUNAWAY * limit:
        return f"more than {format_quantity(RUNAWAY * limit, unit)}"
    return f"at least {format_quantity(need, unit)}"


def render_action(config, prediction) -> str:
    """The config's action text with this prediction's numbers; empty when there is none."""
    if not config.action:
        return ""
    ttf = prediction.ttf.get(0.5)
    values = {
        "service": prediction.labels.get("service", "") or "the service",
        "observed": format_quantity(prediction.observed, config.unit),
        "limit": format_quantity(prediction.limit, config.unit),
        "needed": needed_phrase(prediction, config.unit),
        "ttf": humanize_hours(ttf) if ttf is not None and math.isfinite(ttf) else "more than the horizon",
        "score": f"{prediction.anomaly_score:.2f}" if prediction.anomaly_score is not None else "unknown",
    }
    return " ".join(config.action.format(**values).split())
