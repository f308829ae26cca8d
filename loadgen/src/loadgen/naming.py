"""The OpenTelemetry to Prometheus name translation described in docs/metrics.md."""

import re

_UNIT_SUFFIX = {"By": "bytes", "s": "seconds", "1": "ratio"}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


def prometheus_name(name: str, unit: str) -> str:
    """Series name Prometheus shows for an OTLP gauge, up-down counter or histogram, e.g.
    process.memory.usage/By -> process_memory_usage_bytes ({connection} and other units in
    braces add nothing). loadgen sends no monotonic counters, which would end in _total."""
    translated = _INVALID.sub("_", name)
    suffix = _UNIT_SUFFIX.get(unit)
    if suffix and not translated.endswith("_" + suffix):
        translated += "_" + suffix
    return translated


def prometheus_label(name: str) -> str:
    """Label name for an OTLP attribute key, e.g. http.response.status_code -> http_response_status_code."""
    return _INVALID.sub("_", name)
