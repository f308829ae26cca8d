"""The domain schema: the fields every predictor has, its policy, and the whole config.

Each plugin's typed config extends PredictorConfig with its own fields (see predictors/).
"""
import re
import string
from dataclasses import dataclass, field

from foresight.contracts.selectors import Selector

from .alerting import AlertingConfig
from .reader import Fields

# Placeholders an `action` text may name; foresight.policy.actions fills them in.
ACTION_PLACEHOLDERS = ("service", "observed", "limit", "needed", "ttf", "score")


def check_action(template: str):
    """Raise ValueError naming an unknown placeholder or broken braces."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"{template!r}: {exc} (use {{{{ and }}}} for literal braces)") from None
    for name in fields:
        if name not in ACTION_PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (valid: "
                             f"{', '.join('{' + p + '}' for p in ACTION_PLACEHOLDERS)})")


@dataclass
class PolicyConfig:
    """When a prediction becomes info, warning or critical.

    A level is entered when the probability of crossing the limit within its window is at
    least `probability`, and left only when it falls below `probability - hysteresis`, so
    one problem stays one alert episode.
    """
    critical_within: float = 3600.0
    warning_within: float = 8 * 3600.0
    info_within: float = 24 * 3600.0
    probability: float = 0.5
    hysteresis: float = 0.2
    min_history: float = 36 * 3600.0
    # A young target does not alert at all before it has been watched this long: its first minutes show a
    # start-up ramp, a GC tooth or a batch job's first part as well as a leak; a JVM's warm-up in a few old-generation
    # collections takes most of an hour.
    first_alert_after: float = 60 * 60.0
    # Exhaustion: a target watched for less than this and still without a daily profile (one needs two whole
    # days, then its hourly refit) is young, as one watched for less than `min_history` is: it may only page,
    # and at risk it is judged against its peers; its second morning climbs as its first did. 0s: `min_history`
    # alone decides.
    peer_history: float = 49 * 3600.0
    # A young target whose headroom shrank apart from its peers' may warn, not only page, once it has stood apart
    # (and at risk) this long without a break: a GC, a nightly batch on one host or a burst of connections stands
    # apart for minutes. 0s: at once; longer than `peer_history`: young targets only page.
    apart_warning_after: float = 30 * 60.0
    # Kinds that score anomalies (anomaly, logs): the score that enters `score_severity`.
    score_threshold: float = 0.9
    score_severity: str = "warning"
    score_hold: float = 15 * 60.0  # a detection keeps its level this long (detectors go quiet after one)
    # Anomaly: a detection that at least this share of the target's peers also raised within an hour of it is
    # the fleet's (a rolling deploy, a batch job on every host) and does not alert. 0: every detection may alert.
    fleet_share: float = 0.5

    def pattern_known_after(self, profile_days: int | None) -> float:
        """How long an exhaustion target must be watched before its daily pattern counts as
        known: `min_history`, and without a daily profile (`profile_days` 0) `peer_history`
        if that is longer. Kinds without a daily profile (None): `min_history`."""
        return max(self.min_history, self.peer_history) if profile_days == 0 else self.min_history

    def young(self, history_seconds: float, profile_days: int | None, failures_seen: int = 0) -> bool:
        """Whether a target may only page: its daily pattern is not known, and it has never
        reached its limit (one that has is no new node). `min_history: 0s` turns this age
        rule off, the daily profile's part of it too."""
        return (self.min_history > 0 and history_seconds < self.pattern_known_after(profile_days)
                and failures_seen == 0)

    @classmethod
    def read(cls, f: Fields, defaults: "PolicyConfig | None" = None) -> "PolicyConfig":
        d = defaults or cls()
        cfg = cls(
            critical_within=f.duration("critical_within", d.critical_within),
            warning_within=f.duration("warning_within", d.warning_within),
            info_within=f.duration("info_within", d.info_within),
            probability=f.number("probability", d.probability, low=0.01, high=1.0),
            hysteresis=f.number("hysteresis", d.hysteresis, low=0.0, high=0.9),
            min_history=f.duration("min_history", d.min_history, minimum=-1),
            first_alert_after=f.duration("first_alert_after", d.first_alert_after, minimum=-1),
            peer_history=f.duration("peer_history", d.peer_history, minimum=-1),
            apart_warning_after=f.duration("apart_warning_after", d.apart_warning_after, minimum=-1),
            score_threshold=f.number("score_threshold", d.score_threshold, low=0.01, high=1.0),
            score_severity=f.text("score_severity", d.score_severity, choices=("info", "warning", "critical")),
            score_hold=f.duration("score_hold", d.score_hold, minimum=-1),
            fleet_share=f.number("fleet_share", d.fleet_share, low=0.0, high=1.0),
        )
        f.reject_unknown()
        if not cfg.critical_within <= cfg.warning_within <= cfg.info_within:
            raise f.error("warning_within", "windows must satisfy critical_within <= warning_within <= info_within")
        if cfg.hysteresis >= cfg.probability:
            raise f.error("hysteresis", "must be smaller than probability")
        if cfg.hysteresis >= cfg.score_threshold:
            raise f.error("hysteresis", "must be smaller than score_threshold")
        return cfg


@dataclass
class PredictorConfig:
    """Fields every predictor kind has."""
    name: str
    kind: str
    series: Selector
    resource: str = ""
    unit: str = ""
    action: str = ""
    evaluate_every: float = 60.0
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    drivers: dict = field(default_factory=dict)  # plain-word name -> Selector: candidate causes for "why"
    alerting: AlertingConfig = field(default_factory=AlertingConfig)  # what `foresight rules` generates
    drop_labels: list = field(default_factory=list)  # source labels left out of a target's identity
    max_targets: int = 10_000  # targets beyond this get no prediction (counted): bounds cardinality

    @classmethod
    def read_common(cls, f: Fields, evaluate_every: float = 60.0, series_required: bool = True,
                    policy_defaults: PolicyConfig | None = None, default_hold: dict | None = None) -> dict:
        name = f.text("name", required=True)
        if not re.fullmatch(r"[a-zA-Z0-9_.:-]+", name):
            raise f.error("name", f"{name!r} may hold only letters, digits and _ . : -")
        action = f.text("action", "") or ""
        try:
            check_action(action)
        except ValueError as exc:
            raise f.error("action", str(exc)) from None
        return dict(
            name=name,
            kind=f.text("kind", required=True),
            series=f.selector("series", required=series_required),
            resource=f.text("resource", "") or "",
            unit=f.text("unit", "", choices=("bytes", "seconds", "ratio", "connections", "requests")) or "",
            action=action,
            evaluate_every=f.duration("evaluate_every", evaluate_every),
            policy=PolicyConfig.read(f.mapping("policy"), policy_defaults),
            drivers=f.selector_map("drivers"),
            alerting=AlertingConfig.read(f.mapping("alerting"), default_hold),
            drop_labels=cls._label_names(f, "drop_labels"),
            max_targets=f.integer("max_targets", 10_000, low=1),
        )

    @staticmethod
    def _label_names(f: Fields, key: str) -> list:
        names = f.text_list(key, [])
        for name in names:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
                raise f.error(key, f"{name!r} is not a label name (letters, digits and _, not starting with a digit)")
        return names

    @classmethod
    def from_fields(cls, f: Fields) -> "PredictorConfig":
        """Plugins override this to read their own fields, then call reject_unknown."""
        raise NotImplementedError



@dataclass
class Config:
    source: str
    predictors: list


