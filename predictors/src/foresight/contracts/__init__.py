"""What the stages of the data path hand each other, and the names they share.

points (sources -> store), predictions (predictors -> policy -> publish), severities,
the foresight_* metric names, selectors, durations and units as people write them.
"""
from . import metric_names
from .durations import format_duration, horizon_label, humanize_hours, parse_duration
from .points import COUNTER, DELTA, GAUGE, LogLine, Point
from .predictions import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction, output_labels
from .selectors import Matcher, Selector, parse_selector
from .severities import CRITICAL, INFO, NONE, RISK_LEVEL, SEVERITIES, SEVERITY_LEVELS, SEVERITY_NAMES, WARNING
from .units import format_quantity

__all__ = [
    "COUNTER", "CRITICAL", "DELTA", "GAUGE", "INFO", "NONE", "PUBLISHED_HORIZONS", "RISK_LEVEL", "SEVERITIES",
    "SEVERITY_LEVELS", "SEVERITY_NAMES", "TTF_QUANTILES", "WARNING", "LogLine", "Matcher", "Point", "Prediction",
    "Selector", "format_duration", "format_quantity", "horizon_label", "metric_names", "humanize_hours", "output_labels",
    "parse_duration", "parse_selector",
]
