"""Severity from prediction, with hysteresis: one problem stays one alert episode.

The live service and the backtest run this same code.
"""
from .config import PolicyConfig

NONE, INFO, WARNING, CRITICAL = 0, 1, 2, 3
SEVERITY_NAMES = {NONE: "", INFO: "info", WARNING: "warning", CRITICAL: "critical"}


class Policy:
    def __init__(self, config: PolicyConfig):
        self.config = config
        self.levels: dict[tuple, int] = {}  # prediction key -> current level

    def windows(self) -> dict[int, float]:
        c = self.config
        return {CRITICAL: c.critical_within, WARNING: c.warning_within, INFO: c.info_within}

    def decide(self, key: tuple, probability: dict, history_seconds: float = float("inf"),
               failures_seen: int = 0) -> int:
        """The new level for a target, given P(crossing) per window (seconds -> p).

        A target watched for less than `min_history` can only be critical: until its daily
        pattern is known, a new node's ramp could as well be its morning as a leak, so only
        an imminent crossing alerts. One that has already reached its limit is no new node.
        """
        young = history_seconds < self.config.min_history and failures_seen == 0
        current = self.levels.get(key, NONE)
        enter, stay = self.config.probability, self.config.probability - self.config.hysteresis
        level = NONE
        for candidate, window in sorted(self.windows().items(), reverse=True):
            if young and candidate < CRITICAL:
                break
            p = probability.get(window, 0.0)
            if p >= enter or (current >= candidate and p >= stay):
                level = candidate
                break
        self.levels[key] = level
        return level
