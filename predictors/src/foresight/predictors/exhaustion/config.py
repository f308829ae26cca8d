"""The `exhaustion` kind's typed config: which series, its limit, and how the model fits it."""
import importlib.util
from dataclasses import dataclass

from foresight.config import Fields, PredictorConfig
from foresight.contracts.selectors import Selector

from .forecasters import CANDIDATES, KNOWN, PROPHET, ROBUST


@dataclass
class ExhaustionConfig(PredictorConfig):
    limit: float | None = None
    limit_series: Selector | None = None
    limit_match_on: tuple | None = None  # None: every label the target and the limit series share
    horizon: float = 24 * 3600.0
    lookback: float = 2 * 3600.0
    direction: str = "up"
    min_points: int = 10
    reset_drop_ratio: float = 0.25
    refit_every: float = 300.0
    season_history: float = 3 * 86400.0
    season_refit_every: float = 3600.0
    candidates: tuple = CANDIDATES
    model_refit_every: float = 3 * 3600.0
    selection_horizon: float = 8 * 3600.0

    @property
    def sign(self) -> float:
        """+1 for a resource that fills up to its limit, -1 for one that drains to it (the
        model mirrors its values)."""
        return 1.0 if self.direction == "up" else -1.0

    @classmethod
    def from_fields(cls, f: Fields) -> "ExhaustionConfig":
        cfg = cls(
            **cls.read_common(f),
            limit=f.quantity("limit"),
            limit_series=f.selector("limit_series"),
            limit_match_on=_names(f.text_list("limit_match_on", None)),
            horizon=f.duration("horizon", cls.horizon),
            lookback=f.duration("lookback", cls.lookback),
            direction=f.text("direction", cls.direction, choices=("up", "down")),
            min_points=f.integer("min_points", cls.min_points, low=3),
            reset_drop_ratio=f.number("reset_drop_ratio", cls.reset_drop_ratio, low=0.01, high=1.0),
            refit_every=f.duration("refit_every", cls.refit_every),
            season_history=f.duration("season_history", cls.season_history),
            season_refit_every=f.duration("season_refit_every", cls.season_refit_every),
            candidates=tuple(f.text_list("candidates", cls.candidates)),
            model_refit_every=f.duration("model_refit_every", cls.model_refit_every),
            selection_horizon=f.duration("selection_horizon", cls.selection_horizon),
        )
        f.reject_unknown()
        unknown = [c for c in cfg.candidates if c not in KNOWN]
        if unknown or ROBUST not in cfg.candidates:
            raise f.error("candidates", f"{cfg.candidates!r}: each must be one of {', '.join(KNOWN)}, "
                                        f"and {ROBUST!r} must be among them (it is the default)")
        if PROPHET in cfg.candidates and importlib.util.find_spec("prophet") is None:
            raise f.error("candidates", f"{PROPHET!r} needs the prophet package: pip install 'foresight[prophet]'")
        if (cfg.limit is None) == (cfg.limit_series is None):
            raise f.error("limit", "give exactly one of 'limit' (a number) or 'limit_series' (a selector)")
        return cfg


def _names(names: list | None) -> tuple | None:
    return None if names is None else tuple(names)
