"""The `anomaly` kind's typed config: the univariate detector's settings, and the
multivariate model's when it is turned on."""
from dataclasses import dataclass, field

from foresight.config import Fields, PredictorConfig
from foresight.config.alerting import ANOMALY_HOLD

from .settings import DetectorSettings, MultivariateSettings


@dataclass
class AnomalyConfig(PredictorConfig):
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    multivariate: object = None  # MultivariateSettings when drivers are configured

    @classmethod
    def from_fields(cls, f: Fields) -> "AnomalyConfig":
        # Every new point is scored: evaluation follows the data, not a schedule.
        common = cls.read_common(f, evaluate_every=1.0, default_hold=ANOMALY_HOLD)
        detector = f.settings("detector", DetectorSettings)
        multivariate = None
        if f.data.get("multivariate") is not None:
            if not common["drivers"]:
                raise f.error("multivariate", "needs `drivers`: the series the multivariate model watches with the target")
            multivariate = f.settings("multivariate", MultivariateSettings)
        f.reject_unknown()
        return cls(**common, detector=detector, multivariate=multivariate)
