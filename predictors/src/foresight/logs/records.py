"""Log records as the `logs` predictor sees them, and their decoding from OTLP."""
from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from google.protobuf.message import DecodeError

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


def records_from_otlp(payload: bytes) -> tuple[list[LogRecord], int]:
    """Decode an OTLP ExportLogsServiceRequest. Returns the records and the count of bad ones.

    A payload that is not valid protobuf counts as one bad item. Records keep empty bodies
    and zero timestamps as they are; LogPatternDetector.add counts and skips those.
    """
    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(payload)
    except DecodeError:
        return [], 1
    records, bad = [], 0
    for resource_logs in request.resource_logs:
        service = next((a.value.string_value for a in resource_logs.resource.attributes if a.key == "service.name"),
                       "") or UNKNOWN_SERVICE
        for scope_logs in resource_logs.scope_logs:
            for r in scope_logs.log_records:
                kind = r.body.WhichOneof("value")
                if kind not in ("string_value", None):
                    bad += 1  # numbers, bytes and structured bodies have no text to mine
                    continue
                text = r.body.string_value
                nanos = r.time_unix_nano or r.observed_time_unix_nano
                records.append(LogRecord(nanos / 1e9, service, severity_name(r.severity_text, r.severity_number), text))
    return records, bad
