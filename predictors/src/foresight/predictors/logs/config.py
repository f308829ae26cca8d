"""The `logs` kind's typed config: which services, and the template mining settings."""
from dataclasses import dataclass, field

from foresight.config import Fields, PolicyConfig, PredictorConfig

from .settings import LogSettings


@dataclass
class LogsConfig(PredictorConfig):
    services: list = field(default_factory=list)
    mining: LogSettings = field(default_factory=LogSettings)

    @classmethod
    def from_fields(cls, f: Fields) -> "LogsConfig":
        if f.data.get("series") is not None:
            raise f.error("series", "the logs kind reads log records, not a series; remove `series`")
        # One new warn/error template or a surge at `surge_ratio` scores about 0.5 or more: alert from 0.5.
        common = cls.read_common(f, series_required=False, policy_defaults=PolicyConfig(score_threshold=0.5))
        services = f.text_list("services", [])
        mining = f.settings("mining", LogSettings)
        f.reject_unknown()
        return cls(**common, services=services, mining=mining)
