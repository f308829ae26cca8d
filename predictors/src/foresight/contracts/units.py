"""Values written for people, in the predictor's unit: 2 GiB, 130 connections, 80%."""
import math

from .durations import humanize_hours

_UNITS = {"bytes": [(2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]}


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


__all__ = ["format_quantity"]
