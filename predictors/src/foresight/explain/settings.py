"""Reading the explain settings dataclasses from config mappings, with errors that name the field."""
from dataclasses import fields

from ..durations import parse_duration


def read_settings(cls, data, where: str, durations: tuple):
    """Build dataclass `cls` from `data`; `durations` fields accept 15m, 2h, 3d.

    The instance is made without running __post_init__ and then validated with `where`,
    so errors read like "predictors[0].multivariate.trees: ...".
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(map(str, data)) - set(known))
    if unknown:
        raise ValueError(f"{where}.{unknown[0]}: unknown field (known: {', '.join(known)})")
    settings = cls.__new__(cls)
    for name, f in known.items():
        setattr(settings, name, f.default)
    for key, raw in data.items():
        default = known[key].default
        try:
            if key in durations:
                value = parse_duration(raw)
            elif isinstance(default, bool):
                if not isinstance(raw, bool):
                    raise ValueError(f"{raw!r} is not true or false")
                value = raw
            elif isinstance(default, int):
                if isinstance(raw, bool) or not isinstance(raw, int):
                    raise ValueError(f"{raw!r} is not a whole number")
                value = raw
            elif isinstance(default, float):
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    raise ValueError(f"{raw!r} is not a number")
                value = float(raw)
            else:
                value = str(raw)
        except ValueError as exc:
            raise ValueError(f"{where}.{key}: {exc}") from None
        setattr(settings, key, value)
    settings.validate(where)
    return settings
