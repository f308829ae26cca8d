"""What an engine remembers, as rows of plain objects: one per series, per predictor
target and per policy target, plus a few for the whole engine. `foresight.lifecycle`
serialises the rows and keeps them in a state store; a restart takes them back.

A row is (section, name, key, value): `name` is the predictor's name ("" for the
engine's own rows) and `key` a tuple (a series or prediction key, or () for the whole).

- store:     the stream's event time (each producer's clock, the watermark)
- series:    each series' window and counter state
- config:    each predictor's config, so a changed model config starts its models afresh
- shared:    each predictor's state across its targets (which series are which target)
- target:    each predictor target's scheduling and model state
- policy:    each prediction's risk level and last detection (hysteresis)
- incidents: the service graph, the spans waiting for their parents and the open incidents

Process counters (points accepted, input dropped) are not kept: they restart at zero,
as Prometheus expects of counters.
"""
import dataclasses
import logging

from foresight.config import AlertingConfig, PolicyConfig
from foresight.policy import IncidentTracker

log = logging.getLogger(__name__)

SECTIONS = ("store", "series", "config", "shared", "target", "policy", "incidents")


def export_rows(engine) -> list[tuple[str, str, tuple, object]]:
    rows = [("store", "", (), {"clock": engine.store.clock})]
    rows += [("series", "", key, state) for key, state in engine.store.export_series().items()]
    for predictor in engine.predictors:
        name = predictor.config.name
        rows.append(("config", name, (), predictor.config))
        rows.append(("shared", name, (), predictor.export_shared()))
        rows += [("target", name, key, state) for key, state in predictor.export_targets().items()]
        policy = engine.policies[name]
        detected = policy._detected_at  # the policy's own record of detections (score hold)
        apart = policy._apart_since  # since when a young target stands apart from its peers
        rows += [("policy", name, key, {"level": level, "detected_at": detected.get(key),
                                        "apart_since": apart.get(key),
                                        "at_risk_since": engine.incidents.episode_start(key)})
                 for key, level in policy.levels.items()]
    rows.append(("incidents", "", (), engine.incidents))
    return rows


def model_config(config):
    """The parts of a predictor's config its models depend on: not its policy, alerting
    or words, which a restart may change while the models stay valid."""
    return dataclasses.replace(config, policy=PolicyConfig(), alerting=AlertingConfig(), action="", resource="",
                               unit="")


@dataclasses.dataclass
class ImportReport:
    rows: int = 0
    skipped: dict = dataclasses.field(default_factory=dict)  # reason -> rows not taken back
    fresh: list = dataclasses.field(default_factory=list)  # predictors whose models start afresh

    def skip(self, reason: str):
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def import_rows(engine, rows) -> ImportReport:
    """Take decoded rows back into a new engine (before it sees any data). A row that
    does not fit is skipped and counted by reason, never raised."""
    report = ImportReport()
    by_name = {p.config.name: p for p in engine.predictors}
    ordered = sorted(rows, key=lambda row: SECTIONS.index(row[0]) if row[0] in SECTIONS else len(SECTIONS))
    compatible = set()
    for section, name, key, value in ordered:
        try:
            taken = _import_row(engine, by_name, compatible, report, section, name, key, value)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("state row %s/%s/%s skipped: %s: %s", section, name or "-", key, type(exc).__name__, exc)
            report.skip("unreadable")
            continue
        if taken:
            report.rows += 1
    return report


def _import_row(engine, by_name, compatible, report, section, name, key, value) -> bool:
    if section == "store":
        engine.store.import_clock(value["clock"])
        return True
    if section == "series":
        if not engine.store.import_series(key, value):
            report.skip("series_not_watched")
            return False
        return True
    if section == "incidents":
        if not isinstance(value, IncidentTracker):
            raise TypeError(f"the incidents row holds a {type(value).__name__}")
        engine.incidents = value
        return True
    predictor = by_name.get(name)
    if predictor is None:
        report.skip("predictor_not_configured")
        return False
    if section == "config":
        if type(value) is type(predictor.config) and model_config(value) == model_config(predictor.config):
            compatible.add(name)
        else:
            log.info("predictor %s: its config changed since the checkpoint; its models start afresh", name)
            report.fresh.append(name)
        return True
    if section == "policy":
        policy = engine.policies[name]
        policy.levels[key] = int(value["level"])
        if value["detected_at"] is not None:
            policy._detected_at[key] = float(value["detected_at"])
        if value.get("apart_since") is not None:  # absent from checkpoints written before it was kept
            policy._apart_since[key] = float(value["apart_since"])
        if value.get("at_risk_since") is not None:  # the incident's episode goes on (a handover)
            engine.incidents.resume(key, int(value["level"]), float(value["at_risk_since"]))
        return True
    if name not in compatible:
        report.skip("config_changed")
        return False
    if section == "shared":
        predictor.import_shared(value)
    elif section == "target":
        predictor.import_target(key, value)
    else:
        raise ValueError(f"unknown section {section!r}")
    return True


__all__ = ["ImportReport", "SECTIONS", "export_rows", "import_rows", "model_config"]
