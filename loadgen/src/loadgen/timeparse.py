"""Parsing of the human time arguments: durations (`15m`) and start instants (ISO 8601)."""

import re
from datetime import UTC, datetime

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Return the number of seconds in a duration such as `30s`, `15m`, `8h` or `7d`."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"invalid duration {text!r}: expected a whole number followed by s, m, h or d "
            "(e.g. 30s, 15m, 8h, 7d)"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds == 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return seconds


def parse_start(text: str) -> int:
    """Return unix seconds for an ISO 8601 instant; a time without offset is taken as UTC."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid start time {text!r}: expected ISO 8601 such as 2026-01-01T00:00:00Z"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    if instant.microsecond:
        raise ValueError(f"invalid start time {text!r}: must be a whole second")
    return int(instant.timestamp())


def format_instant(unix_seconds: float) -> str:
    """ISO 8601 UTC text for readable output."""
    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
