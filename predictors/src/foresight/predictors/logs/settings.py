"""Settings of the `logs` kind's template mining and signals (the `mining:` block), read by
the one settings reader (foresight.config.reader)."""
from dataclasses import dataclass, fields

from foresight.config.reader import Fields, InvalidSetting, SettingsBlock

from .miner import DEFAULT_DEPTH, DEFAULT_SIMILARITY

_DURATIONS = ("bucket", "window", "baseline", "warmup", "new_template_grace")
_COUNTS = ("top_templates", "max_templates", "max_services", "cache_size", "min_surge_count", "new_template_min_count",
           "depth")


@dataclass
class LogSettings(SettingsBlock):
    block = "mining"
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
    similarity: float = DEFAULT_SIMILARITY  # share of a template's constant words a line must repeat to join it
    depth: int = DEFAULT_DEPTH  # Drain's prefix tree depth: lines are routed by their first depth - 3 words

    @classmethod
    def read(cls, f: Fields) -> "LogSettings":
        d = cls()
        values = {name: f.duration(name, getattr(d, name)) for name in _DURATIONS}
        values.update({name: f.integer(name, getattr(d, name), low=None) for name in _COUNTS})
        values.update(surge_ratio=f.number("surge_ratio", d.surge_ratio), similarity=f.number("similarity", d.similarity))
        return cls.build(f, **values)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def check(self) -> None:
        for name in _DURATIONS + _COUNTS:
            if getattr(self, name) <= 0:
                raise InvalidSetting(name, f"must be positive, got {getattr(self, name)!r}")
        if self.window < self.bucket:
            raise InvalidSetting("window", f"{self.window:g}s is shorter than bucket ({self.bucket:g}s)")
        if self.surge_ratio <= 1:
            raise InvalidSetting("surge_ratio", f"must be above 1, got {self.surge_ratio!r}")
        if not 0 < self.similarity <= 1:
            raise InvalidSetting("similarity", f"must be in (0, 1], got {self.similarity!r}")
        if self.depth < 3:
            raise InvalidSetting("depth", f"Drain needs at least 3, got {self.depth!r}")
