"""Settings of the Grafana feedback loop: the file `foresight run --feedback FILE` reads,
with the one settings reader (foresight.config.reader)."""
import os
from dataclasses import dataclass
from pathlib import Path

from foresight.config.reader import Fields, SettingsBlock


@dataclass
class FeedbackSettings(SettingsBlock):
    block = "feedback"
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
    def read(cls, f: Fields) -> "FeedbackSettings":
        d = cls(grafana_url="", state_path="")
        return cls.build(
            f,
            grafana_url=f.url("grafana_url", required=True),
            state_path=f.text("state_path", required=True),
            token_file=f.text("token_file"),
            token_env=f.text("token_env", d.token_env),
            org_id=f.integer("org_id", None, low=1),
            dashboard_uid=f.text("dashboard_uid"),
            poll_every=f.duration("poll_every", d.poll_every),
            lookback=f.duration("lookback", d.lookback),
            margin=f.number("margin", d.margin, low=0.0, high=0.5),
            max_threshold=f.number("max_threshold", d.max_threshold, low=0.01, high=1.0),
            timeout=f.duration("timeout", d.timeout),
            max_pending=f.integer("max_pending", d.max_pending, low=1),
            poll_limit=f.integer("poll_limit", d.poll_limit, low=1),
            log_probability_step=f.number("log_probability_step", d.log_probability_step, low=0.0, high=1.0),
        )

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
