"""The one reader of YAML settings.

Every field of a predictor config, and of every nested settings block (detector,
multivariate, mining, drivers, the feedback file), is read by `Fields`: each value is
checked where it is read, and every error names the file, the field and the value, as
`FILE: PATH.FIELD: REASON`. A settings block is a dataclass extending `SettingsBlock`:
its `read` reads each field through `Fields`, and its `check` holds the rules across
fields, which also run when the block is made in code.
"""
import math
import re
from urllib.parse import urlparse

from foresight.contracts.durations import parse_duration
from foresight.contracts.selectors import Selector, parse_selector


class ConfigError(ValueError):
    """A config problem, pointing at FILE: FIELD: REASON."""

    def __init__(self, source: str, field_path: str, reason: str):
        self.source, self.field_path, self.reason = source, field_path, reason
        where = ": ".join(part for part in (source, field_path) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class InvalidSetting(ValueError):
    """A rule across fields is broken; `field` is the field to name in the error."""

    def __init__(self, field: str, reason: str):
        self.field, self.reason = field, reason
        super().__init__(f"{field}: {reason}")


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


def _range(low, high) -> str:
    return f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"


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

    def url(self, key, default=None, required=False) -> str:
        """An http(s) URL with a host."""
        value = self.text(key, None, required)
        if value is None:
            return default
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise self.error(key, f"{value!r} is not an http(s) URL such as http://grafana:3000")
        return value

    def boolean(self, key, default=None) -> bool:
        value, present = self._get(key, default, False)
        if present and not isinstance(value, bool):
            raise self.error(key, f"{value!r} is not true or false")
        return value

    def duration(self, key, default=None, required=False, minimum=0.0) -> float:
        """Seconds, from 30s, 15m, 6h, 7d (or a number of seconds); longer than `minimum`."""
        value, present = self._get(key, default, required)
        if not present:
            return value
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        if not math.isfinite(seconds):
            raise self.error(key, f"{value!r} is not a finite duration")
        if seconds <= minimum:
            raise self.error(key, f"{value!r} must be longer than {minimum:g}s")
        return seconds

    def number(self, key, default=None, required=False, low=None, high=None) -> float:
        """A finite YAML number within [low, high]."""
        value, present = self._get(key, default, required)
        if not present:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"{value!r} is not a number")
        return self._within(key, value, float(value), low, high)

    def quantity(self, key, default=None, required=False, low=None, high=None) -> float:
        """A number that may carry a unit suffix: 100, 0.9, 2Gi, 500Mi, 80%."""
        value, present = self._get(key, default, required)
        if not present:
            return value
        try:
            number = parse_quantity(value)
        except ValueError as exc:
            raise self.error(key, str(exc)) from None
        return self._within(key, value, number, low, high)

    def integer(self, key, default=None, low=1, high=None) -> int:
        """A whole YAML number (3, not 3.0) within [low, high]."""
        value, present = self._get(key, default, False)
        if not present:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"{value!r} is not a whole number")
        return self._within(key, value, value, low, high)

    def _within(self, key, written, number, low, high):
        if isinstance(number, float) and not math.isfinite(number):
            raise self.error(key, f"{written!r} is not a finite number")
        if (low is not None and number < low) or (high is not None and number > high):
            raise self.error(key, f"{written!r} is outside {_range(low, high)}")
        return number

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
            return None if value is None else list(value)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of names, got {value!r}")
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
        """A nested settings block, read by its class; absent, the class's defaults."""
        value, present = self._get(key, None, False)
        if not present:
            return settings_class()
        return settings_class.read(Fields(value, self.source, self.where(key)))

    def mapping(self, key) -> "Fields":
        value, present = self._get(key, {}, False)
        return Fields(value if present else {}, self.source, self.where(key))

    def reject_unknown(self):
        unknown = sorted(set(map(str, self.data)) - self.used)
        if unknown:
            valid = ", ".join(sorted(self.used))
            raise self.error(unknown[0], f"unknown field (valid fields here: {valid})")


class SettingsBlock:
    """Base of the nested settings dataclasses.

    Subclasses implement `read(cls, f)`, reading each field through `f` and ending with
    `cls.build(f, **values)`, and may override `check` for rules across fields (raising
    InvalidSetting); `check` runs whenever an instance is made.
    """

    block = ""  # the YAML key this block is read from, named in errors outside a config file

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Rules across fields; raise InvalidSetting(field, reason)."""

    @classmethod
    def read(cls, f: Fields):
        raise NotImplementedError

    @classmethod
    def build(cls, f: Fields, **values):
        """The block from values already read from `f`; unknown fields and broken rules
        become errors naming the file and the field."""
        f.reject_unknown()
        try:
            return cls(**values)
        except InvalidSetting as exc:
            raise f.error(exc.field, exc.reason) from None

    @classmethod
    def from_mapping(cls, data, where: str | None = None):
        """The block from a mapping outside a config file; errors start with `where`
        (default: the block's name)."""
        return cls.read(Fields({} if data is None else data, "", cls.block if where is None else where))


__all__ = ["ConfigError", "Fields", "InvalidSetting", "SettingsBlock", "parse_quantity"]
