"""The structured event log: one JSON object per line on the `foresight.events` logger.

Events: `prediction` (logged when its risk level changes or its probability moved by
`log_probability_step` since the last logged one), `alert_decision` (every level change),
`feedback`, `feedback_skipped`, `threshold_change`, `annotation_written`,
`annotation_dropped`, `grafana_error`.
"""
import json
import logging
import math
import time

EVENTS_LOGGER = "foresight.events"
events = logging.getLogger(EVENTS_LOGGER)


def emit(event: str, level: int = logging.INFO, **fields) -> None:
    """Log one event. The message is the JSON line itself, so any handler keeps it parseable."""
    record = {"event": event, **{k: _plain(v) for k, v in fields.items()}}
    events.log(level, json.dumps(record, sort_keys=True), extra={"foresight_event": record})


def _plain(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no inf/nan
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class JsonLinesFormatter(logging.Formatter):
    """Formats any record as one JSON line; events keep their fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                + f".{int(record.msecs):03d}Z",
                "level": record.levelname.lower(), "logger": record.name}
        event = getattr(record, "foresight_event", None)
        if event is not None:
            line.update(event)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, sort_keys=False)


def log_events_as_json(stream=None) -> logging.Handler:
    """Attach a JSON-lines handler to the events logger (stderr by default) and return it."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLinesFormatter())
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    events.propagate = False  # one JSON line per event, not a second plain-text copy
    return handler
