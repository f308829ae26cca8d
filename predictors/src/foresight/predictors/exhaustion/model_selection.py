"""Per-target choice of the central forecaster by its own rolling-origin error.

At each model refit (an origin) every candidate leaves its growth rate. When the series has
moved on by each scoring horizon, the realised growth rate since the origin scores every
candidate: |realised - forecast|, in value per second. A target uses the candidate with the
lowest mean error over its recent origins, compared only on origins both candidates scored.

Why long horizons: over a few minutes to an hour the realised growth is mostly noise and
bursts, so short-horizon error rewards the candidate that chases them, and chasing them is
what raises false alerts. Alerts are about hours ahead (the warning window), so candidates
are scored at those horizons. A reset (an OOM kill, a cache eviction) ends every pending
forecast: growth across it says nothing about the forecast.
"""
from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Origin:
    time: float
    level: float  # deseasonalised value at the origin
    rates: dict  # candidate name -> forecast growth per second
    errors: dict = field(default_factory=dict)  # candidate -> list of errors, one per horizon scored
    scored: int = 0  # horizons scored so far


@dataclass
class ModelSelector:
    """The rolling-origin error record of one target and its current choice.

    `horizons` are in seconds. `min_origins` fully scored origins are needed before the
    choice leaves `default`; a challenger must beat the current choice's mean error by
    `margin` (a share), so the choice does not flap on a tie.
    """
    horizons: tuple
    default: str
    min_origins: int = 6
    margin: float = 0.15
    memory: int = 24  # scored origins kept
    pending: deque = field(default_factory=deque)
    scored: deque = field(default_factory=deque)
    choice: str = ""

    def __post_init__(self):
        self.scored = deque(maxlen=self.memory)
        self.choice = self.choice or self.default

    def remember(self, now: float, level: float, rates: dict):
        rates = {name: rate for name, rate in rates.items() if rate is not None}
        if rates:
            self.pending.append(_Origin(now, level, rates))

    def observe(self, now: float, value: float, reset_since: float):
        """Score pending forecasts whose horizons have passed; `value` is deseasonalised."""
        while self.pending and self.pending[0].time < reset_since:
            self.pending.popleft()
        for origin in list(self.pending):
            elapsed = now - origin.time
            while origin.scored < len(self.horizons) and elapsed >= self.horizons[origin.scored]:
                realised = (value - origin.level) / elapsed
                for name, rate in origin.rates.items():
                    origin.errors.setdefault(name, []).append(abs(realised - rate))
                origin.scored += 1
            if origin.scored == len(self.horizons):
                self.pending.remove(origin)
                self.scored.append({name: sum(e) / len(e) for name, e in origin.errors.items()})

    def mean_error(self, name: str, against: str) -> tuple[float, float, int]:
        """Mean errors of `name` and `against` over the origins both were scored on."""
        both = [s for s in self.scored if name in s and against in s]
        if not both:
            return float("inf"), float("inf"), 0
        return (sum(s[name] for s in both) / len(both), sum(s[against] for s in both) / len(both), len(both))

    def choose(self) -> str:
        """The candidate with the lowest recent error (hysteresis towards the current choice)."""
        names = {name for s in self.scored for name in s}
        best = self.choice
        for name in sorted(names - {self.choice}):
            mine, theirs, n = self.mean_error(name, best)
            if n >= self.min_origins and mine < (1 - self.margin) * theirs:
                best = name
        self.choice = best
        return best
