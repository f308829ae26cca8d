"""Predictor plugins, one folder per kind (exhaustion, anomaly, logs), registered by name.

Each kind has its typed config (`config.py`), its model code and per-target state, and a
`predictor.py` whose class extends `base.Predictor`. `registry.PLUGINS` maps kind names
to those classes, resolved lazily.
"""
from .registry import PLUGINS, build_predictor, config_class, plugin_class

__all__ = ["PLUGINS", "build_predictor", "config_class", "plugin_class"]
