"""Settings of the `logs` predictor, with checks that name the bad field."""
from dataclasses import dataclass, fields

from ..durations import parse_duration

_DURATIONS = ("bucket", "window", "baseline", "warmup", "new_template_grace")
_COUNTS = ("top_templates", "max_templates", "max_services", "cache_size", "min_surge_count", "new_template_min_count",
           "depth")


@dataclass
class LogSettings:
    bucket: float = 10.0  # seconds per counting bucket: the time resolution of rates
    window: float = 300.0  # the "current" rate is taken over this many trailing seconds
    baseline: float = 3600.0  # the rate a template is compared with: this span before the window
    warmup: float = 900.0  # templates of a service's first seconds are its normal vocabulary, not news
    new_template_grace: float = 900.0  # a template counts as new for this long after its first line
    new_template_min_count: int = 3  # lines in the window for a new template's full weight: one-offs weigh less
    surge_ratio: float = 3.0  # a warn/error template surges at this multiple of its baseline rate
    min_surge_count: int = 5  # ...and at least this many lines in the window, so 0 -> 1 is no surge
    top_templates: int = 20  # per service, only these become metric labels; the rest are "other"
    max_templates: int = 2000  # Drain templates kept in total; least recently used are evicted
    max_services: int = 200  # services tracked; records of further services are counted and skipped
    cache_size: int = 100_000  # masked-line cache entries before the cache is emptied
    similarity: float = 0.4  # Drain's similarity threshold for joining a template
    depth: int = 4  # Drain's prefix tree depth

    def __post_init__(self):
        self.check("LogSettings")

    @classmethod
    def from_mapping(cls, data: dict, where: str) -> "LogSettings":
        """Build from a config mapping; `where` (e.g. 'foresight.yaml: predictors.logs') prefixes errors."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a mapping of log settings, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                             f"valid fields are {', '.join(sorted(known))}")
        values = {}
        for name, raw in data.items():
            try:
                values[name] = _parse(name, raw)
            except ValueError as exc:
                raise ValueError(f"{where}.{name}: {exc}") from None
        settings = cls.__new__(cls)
        for f in fields(cls):
            setattr(settings, f.name, values.get(f.name, f.default))
        settings.check(where)
        return settings

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def check(self, where: str) -> None:
        for name in _DURATIONS + _COUNTS:
            if getattr(self, name) <= 0:
                raise ValueError(f"{where}.{name}: must be positive, got {getattr(self, name)!r}")
        if self.window < self.bucket:
            raise ValueError(f"{where}.window: {self.window:g}s is shorter than bucket ({self.bucket:g}s)")
        if self.surge_ratio <= 1:
            raise ValueError(f"{where}.surge_ratio: must be above 1, got {self.surge_ratio!r}")
        if not 0 < self.similarity <= 1:
            raise ValueError(f"{where}.similarity: must be in (0, 1], got {self.similarity!r}")
        if self.depth < 3:
            raise ValueError(f"{where}.depth: Drain needs at least 3, got {self.depth!r}")


def _parse(name: str, raw):
    if name in _DURATIONS:
        return parse_duration(raw)
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if name in _COUNTS:
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        if not isinstance(raw, int):
            raise ValueError(f"{raw!r} is not a whole number")
        return raw
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{raw!r} is not a number") from None
