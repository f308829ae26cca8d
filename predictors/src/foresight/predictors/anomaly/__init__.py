"""Streaming anomaly detection for single numeric series (used by the `anomaly` predictor kind).

`StreamingDetector(settings).update(timestamp, value)` returns a score in [0, 1] per point,
from that point and earlier ones only. `DetectorSettings` holds the defaults used everywhere.
"""
from .settings import DetectorSettings
from .univariate import StreamingDetector

__all__ = ["DetectorSettings", "StreamingDetector"]
