"""The `logs` predictor's core: log template mining and log anomaly signals.

Lines are masked (ids, IPs, paths, numbers), grouped into templates by Drain3, counted per
service and template in event time, and turned into signals: templates never seen before,
warn/error templates surging over their baseline, and the top template rates.
"""
from .masking import mask
from .miner import TemplateMiner
from .records import SEVERITIES, LogRecord, severity_name
from .settings import LogSettings
from .signals import LogPatternDetector, LogSignal, TemplateRate

__all__ = [
    "SEVERITIES", "LogPatternDetector", "LogRecord", "LogSettings", "LogSignal", "TemplateMiner",
    "TemplateRate", "mask", "severity_name",
]
