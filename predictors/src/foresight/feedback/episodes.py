"""Alert episodes: a target's risk level going from 0 to 1 or more, until it is 0 again.

This is the loop's alert history. Feedback names an episode (tag `episode:<id>`), and the
tuning reads each episode's peak probability.
"""
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from foresight.config import PolicyConfig


@dataclass
class Episode:
    id: str
    predictor: str
    labels: dict
    start: float  # event time, seconds
    start_level: int
    level: int  # current level while open
    peak_level: int
    peak_probability: float
    failures_at_start: int = 0
    scored: bool = False  # peak_probability holds an anomaly score (anomaly and log kinds)
    failure_seen: bool = False
    pre_failure_peak: float = 0.0  # the peak before the failure, if there was one
    silenced: bool = False  # the tuned threshold held it back: no alert, no annotations
    end: float | None = None
    outcome: str | None = None  # failure | receded | withdrawn
    start_annotation_id: int | None = None
    end_annotation_id: int | None = None
    verdicts: dict = field(default_factory=dict)  # annotation id (str) -> confirmed | dismissed

    @property
    def open(self) -> bool:
        return self.end is None

    @property
    def verdict(self) -> str | None:
        """An engineer's word on the episode. A confirmation wins a conflict: it protects recall."""
        values = set(self.verdicts.values())
        if "confirmed" in values:
            return "confirmed"
        return "dismissed" if values else None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Episode":
        return cls(**data)


def target_key(predictor: str, labels: dict) -> str:
    return json.dumps([predictor, sorted(labels.items())], separators=(",", ":"))


def episode_id(predictor: str, labels: dict, start: float) -> str:
    """Stable across restarts and replicas: the same episode gets the same id."""
    digest = hashlib.sha1(f"{target_key(predictor, labels)}@{start:.3f}".encode()).hexdigest()
    return digest[:12]


def policy_probability(prediction, policy: PolicyConfig | None) -> float:
    """The highest value the policy compares with its threshold for this prediction.

    Anomaly and log predictions: their anomaly score. Exhaustion predictions: the highest
    probability over the policy's windows, only the critical one for a young target (the
    policy's own rule); without the policy known, over every window.
    """
    probs = prediction.probability
    score = getattr(prediction, "anomaly_score", None)
    if not probs and score is not None:
        return _finite(score)
    if policy is None:
        return max((_finite(p) for p in probs.values()), default=0.0)
    young = policy.young(prediction.history_seconds, getattr(prediction, "daily_profile_days", None),
                         prediction.failures_seen)
    windows = [policy.critical_within] if young else [policy.critical_within, policy.warning_within,
                                                      policy.info_within]
    return max((_finite(probs.get(w, 0.0)) for w in windows), default=0.0)


def _finite(value) -> float:
    """NaN or a non-number counts as 0: it cannot have triggered an alert."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0
