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

from foresight.contracts.durations import humanize_hours
from foresight.contracts.units import format_quantity

HEADROOM = 1.1
RUNAWAY = 2.0  # a need beyond this multiple of the limit is stated as "more than"


class _Unknown(dict):
    def __missing__(self, key):
        return "?"


def without_numbers(template: str) -> str:
    """The action text with every placeholder shown as '?': for places without a prediction."""
    return " ".join(template.format_map(_Unknown()).split())


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
