"""The "why" of an alert: which configured drivers moved, by how much and since when
(drivers, statistics), in plain words for each alert-worthy prediction (explainer)."""
from .drivers import Driver, DriverSettings, rank_drivers
from .explainer import Explainer, trend_reason

__all__ = ["Driver", "DriverSettings", "Explainer", "rank_drivers", "trend_reason"]
