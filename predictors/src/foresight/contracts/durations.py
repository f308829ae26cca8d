"""Durations as people write them in configs: 30s, 15m, 6h, 7d, 1h30m."""
import re

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_duration(text) -> float:
    """Return seconds. Raises ValueError with the offending text."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 15m, 6h, 7d)")
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).strip()
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 15m, 6h, 7d)")
    return total


def format_duration(seconds: float) -> str:
    """Short label form used in metric labels: 3600 -> '1h', 90 -> '90s'."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def horizon_label(seconds: float) -> str:
    """The `horizon` label of the metric contract: whole hours (1h, 6h, 24h), else as a duration."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{int(seconds // 3600)}h"
    return format_duration(seconds)


def humanize_hours(seconds: float) -> str:
    """'3.2 h' style text for logs and notifications."""
    if seconds == float("inf"):
        return "never"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
