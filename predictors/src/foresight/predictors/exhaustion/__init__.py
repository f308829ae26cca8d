"""The `exhaustion` kind: forecast a resource towards its limit and give time to failure.

config (the typed config) -> trends (robust lines; a young rise that levels off),
seasonality (daily profile), peaks (the trend of the daily peaks), sawtooth (a heap's teeth and their envelope),
held and steps (gauges updated in steps; a leak that climbs in steps),
shifts (a jump that holds), bursts (minutes-long rises), binned (medians of bins and their rises),
resets (restarts and past cycles), forecasters and model_selection (which forecaster per target),
calibration (each target's track record), crossing (when the path crosses the limit),
peers (a young target at risk against the predictor's other targets),
state (what is kept per target) -> predictor (the plugin).
"""
from .config import ExhaustionConfig

__all__ = ["ExhaustionConfig"]
