"""Per-predictor alerting settings: the `alerting:` block of a predictor config.

They decide which alert rules `foresight rules` generates for the predictor (severities,
how long each must hold) and what the notification links to
and tells people to do (runbook).
"""
from dataclasses import dataclass, field

from foresight.contracts.severities import SEVERITIES

from .reader import Fields

# A page must hold as long as a warning: a false page costs more than a page a few minutes
# late. On the crash runs' seeds up to 96, 17 of 26 false pages held for less than 5 minutes
# (2m before), at a cost of 3 of 292 warned runs (paged 11-13 min ahead, now 8-10).
DEFAULT_HOLD = {"info": 15 * 60.0, "warning": 5 * 60.0, "critical": 5 * 60.0}
# The anomaly kind's alerts hold 10 minutes: in a rolling deploy the first hosts' restarts are
# anomalies for minutes before half their peers have raised theirs (the fleet rule,
# `policy.fleet_share`), and on the crash runs those first hosts fired for a minute or two.
ANOMALY_HOLD = dict(DEFAULT_HOLD, warning=10 * 60.0, critical=10 * 60.0)


@dataclass
class AlertingConfig:
    """Which alerts a predictor raises and what their notifications say.

    severities: the severities that alert (risk-level predictors: exhaustion). A risk level
        above the highest one listed alerts at that highest one, so a low-impact predictor
        set to [info, warning] never pages but is not silenced either.
        Anomaly and logs kinds alert at their policy's `score_severity`.
    hold_for: severity -> seconds the condition must hold before the alert fires (`for:`).
    runbook_url: overrides the default section of docs/runbooks.md.
    The action text is the predictor's `action` (see foresight.actions), filled in by the sidecar.
    """
    severities: tuple = ("warning", "critical")
    hold_for: dict = field(default_factory=lambda: dict(DEFAULT_HOLD))
    runbook_url: str = ""

    @classmethod
    def read(cls, f: Fields, default_hold: dict | None = None) -> "AlertingConfig":
        """The `alerting:` block; `default_hold` gives the kind's hold times where `for` is silent."""
        d = cls()
        default_hold = default_hold or DEFAULT_HOLD
        severities = tuple(f.text_list("severities", d.severities))
        for name in severities:
            if name not in SEVERITIES:
                raise f.error("severities", f"{name!r} is not one of {', '.join(SEVERITIES)}")
        if not severities:
            raise f.error("severities", "list at least one severity (info, warning, critical)")
        if len(set(severities)) != len(severities):
            raise f.error("severities", f"{list(severities)} lists a severity twice")

        hold = f.mapping("for")
        hold_for = {name: hold.duration(name, default_hold[name], minimum=-1) for name in SEVERITIES}
        hold.reject_unknown()

        runbook_url = f.text("runbook_url", "") or ""
        if runbook_url and not runbook_url.startswith(("http://", "https://")):
            raise f.error("runbook_url", f"{runbook_url!r} is not an http(s) URL")

        f.reject_unknown()
        return cls(severities=severities, hold_for=hold_for, runbook_url=runbook_url)

    def risk_severities(self) -> list:
        """Enabled severities from least to most urgent."""
        return [s for s in SEVERITIES if s in self.severities]
