"""Severity names and the `foresight_risk_level` values they publish as (docs/metrics.md).

The policy sets them, the rules alert on them, Alertmanager routes on the names, and the
dashboards colour them: one definition for all.
"""
NONE, INFO, WARNING, CRITICAL = 0, 1, 2, 3
SEVERITY_NAMES = {NONE: "", INFO: "info", WARNING: "warning", CRITICAL: "critical"}
SEVERITY_LEVELS = {name: level for level, name in SEVERITY_NAMES.items() if name}
SEVERITIES = tuple(SEVERITY_LEVELS)  # from least to most urgent: info, warning, critical
RISK_LEVEL = SEVERITY_LEVELS  # severity name -> foresight_risk_level value

__all__ = ["CRITICAL", "INFO", "NONE", "RISK_LEVEL", "SEVERITIES", "SEVERITY_LEVELS", "SEVERITY_NAMES", "WARNING"]
