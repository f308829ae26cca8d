"""Loading and validating predictor configs (YAML).

A config is a list of predictors. Each names a plugin `kind`; the plugin's typed config
class reads the rest. Every error names the file, the field and the reason.
"""
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path
import re

import yaml

from .alerting_config import AlertingConfig
from .durations import parse_duration
from .selectors import Selector, parse_selector


class ConfigError(Exception):
    """A config problem, pointing at FILE: FIELD: REASON."""

    def __init__(self, source: str, field_path: str, reason: str):
        self.source, self.field_path, self.reason = source, field_path, reason
        where = f"{source}: {field_path}" if field_path else source
        super().__init__(f"{where}: {reason}")


_QUANTITY = re.compile(r"^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(Ki|Mi|Gi|Ti|k|M|G|T|%)?$")
_FACTORS = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
            "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "%": 0.01}


def parse_quantity(value) -> float:
    """Numbers with optional unit suffix: 100, 0.9, 2Gi, 500Mi, 80%."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise ValueError(f"{value!r} is not a number (use e.g. 100, 0.9, 2Gi, 500Mi, 80%)")
    return float(m.group(1)) * _FACTORS[m.group(2)]


class Fields:
    """Reads one mapping from the YAML, remembering where it is for error messages."""

    def __init__(self, data, source: str, path: str):
        if not isinstance(data, dict):
            raise ConfigError(source, path, f"expected a mapping, got {type(data).__name__}")
        self.data, self.source, self.path, self.used = data, source, path, set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.source, self.where(key), reason)

    def _get(self, key, default, required):
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "is required")
            return default, False
        return self.data[key], True

    def text(self, key, default=None, required=False, choices=None) -> str:
        value, present = self._get(key, default, required)
        if not present:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"expected non-empty text, got {value!r}")
        if choices and value not in choices:
            raise self.error(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def duration(self, key, default=None, required=False, minimum=0.0) -> float:
        value, present = self._get(key, default, required)
        if not present:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if seconds <= minimum:
            raise self.error(key, f"{value!r} must be longer than {minimum:g}s")
        return seconds

    def number(self, key, default=None, required=False, low=None, high=None) -> float:
        value, present = self._get(key, default, required)
        if not present:
            return value
        try:
            number = parse_quantity(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise self.error(key, f"{value!r} is outside [{low}, {high}]")
        return number

    def integer(self, key, default=None, low=1) -> int:
        value, present = self._get(key, default, False)
        if not present:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"expected a whole number >= {low}, got {value!r}")
        return value

    def selector(self, key, required=False) -> Selector | None:
        value, present = self._get(key, None, required)
        if not present:
            return None
        try:
            return parse_selector(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def text_list(self, key, default) -> list:
        value, present = self._get(key, default, False)
        if not present:
            return list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of label names, got {value!r}")
        return value

    def selector_map(self, key) -> dict:
        """A mapping of plain-word names to selectors, e.g. drivers: {request rate: http_...}."""
        value, present = self._get(key, {}, False)
        if not present:
            return {}
        if not isinstance(value, dict) or not value:
            raise self.error(key, f"expected a mapping of names to series selectors, got {value!r}")
        out = {}
        for name, text in value.items():
            if not isinstance(name, str) or not name.strip():
                raise self.error(key, f"names must be non-empty text, got {name!r}")
            try:
                out[name] = parse_selector(text)
            except (ValueError, TypeError) as exc:
                raise ConfigError(self.source, f"{self.where(key)}.{name}", str(exc)) from None
        return out

    def settings(self, key, settings_class):
        """A plugin's settings block, read by the class's own `from_mapping(data, where)`;
        its ValueError becomes a ConfigError naming this file. Absent: the class defaults."""
        value, present = self._get(key, None, False)
        if not present:
            return settings_class()
        if not isinstance(value, dict):
            raise self.error(key, f"expected a mapping of settings, got {value!r}")
        try:
            return settings_class.from_mapping(value, self.where(key))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def mapping(self, key) -> "Fields":
        value, present = self._get(key, {}, False)
        return Fields(value if present else {}, self.source, self.where(key))

    def reject_unknown(self):
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            valid = ", ".join(sorted(self.used))
            raise self.error(unknown[0], f"unknown field (valid fields here: {valid})")


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
    # Kinds that score anomalies (anomaly, logs): the score that enters `score_severity`.
    score_threshold: float = 0.9
    score_severity: str = "warning"
    score_hold: float = 15 * 60.0  # a detection keeps its level this long (detectors go quiet after one)

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
            score_threshold=f.number("score_threshold", d.score_threshold, low=0.01, high=1.0),
            score_severity=f.text("score_severity", d.score_severity, choices=("info", "warning", "critical")),
            score_hold=f.duration("score_hold", d.score_hold, minimum=-1),
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

    @classmethod
    def read_common(cls, f: Fields, evaluate_every: float = 60.0, series_required: bool = True,
                    policy_defaults: PolicyConfig | None = None) -> dict:
        from .actions import check_action  # late import: actions reads predictions

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
            alerting=AlertingConfig.read(f.mapping("alerting")),
        )

    @classmethod
    def from_fields(cls, f: Fields) -> "PredictorConfig":
        """Plugins override this to read their own fields, then call reject_unknown."""
        raise NotImplementedError

    def to_dict(self) -> dict:
        out = {}
        for fld in dc_fields(self):
            value = getattr(self, fld.name)
            if isinstance(value, Selector):
                value = value.promql()
            elif isinstance(value, dict) and all(isinstance(v, Selector) for v in value.values()):
                value = {k: v.promql() for k, v in value.items()}
            elif isinstance(value, (PolicyConfig, AlertingConfig)):
                value = {k.name: getattr(value, k.name) for k in dc_fields(value)}
            out[fld.name] = value
        return out


@dataclass
class Config:
    source: str
    predictors: list


def load_config(path) -> Config:
    """Read and validate a config file. Raises ConfigError."""
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read the file: {exc.strerror}") from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "<config>") -> Config:
    from .registry import config_class  # late import: the registry imports plugin configs

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        raise ConfigError(source, where, f"invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        raise ConfigError(source, "", "the file is empty; expected a 'predictors:' list")
    top = Fields(data, source, "")
    items, _ = top._get("predictors", None, True)
    top.reject_unknown()
    if not isinstance(items, list) or not items:
        raise ConfigError(source, "predictors", "expected a non-empty list of predictors")
    predictors, names = [], set()
    for i, item in enumerate(items):
        f = Fields(item, source, f"predictors[{i}]")
        kind = f.text("kind", required=True)
        try:
            cls = config_class(kind)
        except KeyError as exc:
            raise f.error("kind", exc.args[0]) from None
        cfg = cls.from_fields(f)
        if cfg.name in names:
            raise f.error("name", f"{cfg.name!r} is used by another predictor; names must be unique")
        names.add(cfg.name)
        predictors.append(cfg)
    return Config(source=source, predictors=predictors)
