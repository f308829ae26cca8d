"""Log records as the `logs` predictor sees them (decoded from OTLP by foresight.otlp)."""
from dataclasses import dataclass

SEVERITIES = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
UNKNOWN_SERVICE = "unknown_service"  # what OpenTelemetry SDKs report when service.name is unset

_SEVERITY_ALIASES = {"TRACE": "DEBUG", "WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "FATAL", "PANIC": "FATAL"}


@dataclass(frozen=True)
class LogRecord:
    timestamp: float  # unix seconds (event time)
    service: str  # OTLP resource attribute service.name
    severity: str  # one of SEVERITIES
    body: str


def severity_name(text: str = "", number: int = 0) -> str:
    """One of SEVERITIES from OTLP severity_text, or from severity_number when the text is missing or unknown."""
    name = text.strip().upper()
    name = _SEVERITY_ALIASES.get(name, name)
    if name in SEVERITY_RANK:
        return name
    # OTLP severity numbers: 1-4 TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL.
    for floor, level in ((21, "FATAL"), (17, "ERROR"), (13, "WARN"), (9, "INFO")):
        if number >= floor:
            return level
    return "DEBUG" if number >= 1 else "INFO"
