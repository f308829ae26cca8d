"""Settings of the Grafana feedback loop, read from the service config.

Every error names the field and the value, as `<where>.<field>: reason`.
"""
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ..durations import parse_duration


@dataclass
class FeedbackSettings:
    grafana_url: str
    state_path: str
    token_file: str | None = None
    token_env: str = "GRAFANA_TOKEN"
    org_id: int | None = None
    dashboard_uid: str | None = None  # None: organisation-wide annotations
    poll_every: float = 60.0  # seconds of event time between feedback polls
    lookback: float = 30 * 86400.0  # how far back feedback is read and episodes are kept
    margin: float = 0.02
    max_threshold: float = 0.95
    timeout: float = 5.0  # seconds per Grafana request
    max_pending: int = 1000  # annotations kept for retry while Grafana is unreachable
    poll_limit: int = 1000  # annotations per feedback query
    log_probability_step: float = 0.05  # log a prediction when its probability moved this much

    @classmethod
    def from_mapping(cls, data, where: str = "feedback") -> "FeedbackSettings":
        """Build from a config mapping. Raises ValueError naming `<where>.<field>` and the value."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
        valid = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown field (valid fields: {', '.join(sorted(valid))})")
        reader = _Reader(data, where)
        d = cls(grafana_url="", state_path="")
        settings = cls(
            grafana_url=reader.url("grafana_url"),
            state_path=reader.text("state_path", required=True),
            token_file=reader.text("token_file"),
            token_env=reader.text("token_env", d.token_env),
            org_id=reader.integer("org_id", None, low=1),
            dashboard_uid=reader.text("dashboard_uid"),
            poll_every=reader.duration("poll_every", d.poll_every),
            lookback=reader.duration("lookback", d.lookback),
            margin=reader.number("margin", d.margin, 0.0, 0.5),
            max_threshold=reader.number("max_threshold", d.max_threshold, 0.01, 1.0),
            timeout=reader.duration("timeout", d.timeout),
            max_pending=reader.integer("max_pending", d.max_pending, low=1),
            poll_limit=reader.integer("poll_limit", d.poll_limit, low=1),
            log_probability_step=reader.number("log_probability_step", d.log_probability_step, 0.0, 1.0),
        )
        return settings

    def read_token(self) -> str:
        """The API token: from `token_file` when set, else from the env var `token_env`."""
        if self.token_file:
            try:
                token = Path(self.token_file).read_text().strip()
            except OSError as exc:
                raise ValueError(f"feedback.token_file: cannot read {self.token_file!r}: {exc.strerror}") from None
            if not token:
                raise ValueError(f"feedback.token_file: {self.token_file!r} is empty")
            return token
        token = os.environ.get(self.token_env, "").strip()
        if not token:
            raise ValueError(f"feedback.token_env: environment variable {self.token_env!r} is not set or empty "
                             "(set it to a Grafana service account token, or set feedback.token_file)")
        return token


class _Reader:
    def __init__(self, data: dict, where: str):
        self.data, self.where = data, where

    def _value(self, key, default, required=False):
        value = self.data.get(key)
        if value is None:
            if required:
                raise ValueError(f"{self.where}.{key}: is required")
            return default, False
        return value, True

    def text(self, key, default=None, required=False):
        value, present = self._value(key, default, required)
        if present and (not isinstance(value, str) or not value.strip()):
            raise ValueError(f"{self.where}.{key}: expected non-empty text, got {value!r}")
        return value

    def url(self, key):
        value = self.text(key, required=True)
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"{self.where}.{key}: {value!r} is not an http(s) URL such as http://grafana:3000")
        return value

    def duration(self, key, default):
        value, present = self._value(key, default)
        if not present:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"{self.where}.{key}: {exc}") from None
        if seconds <= 0:
            raise ValueError(f"{self.where}.{key}: {value!r} must be longer than 0s")
        return seconds

    def number(self, key, default, low, high):
        value, present = self._value(key, default)
        if not present:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f"{self.where}.{key}: expected a number in [{low}, {high}], got {value!r}")
        return float(value)

    def integer(self, key, default, low):
        value, present = self._value(key, default)
        if not present:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{self.where}.{key}: expected a whole number >= {low}, got {value!r}")
        return value
