"""Predictor plugins, registered by short name and resolved lazily.

Add a plugin by adding a line here: name -> "module:Class". The class has a `Config`
attribute (a PredictorConfig subclass) that reads its typed settings.
"""
from importlib import import_module

PLUGINS = {
    "exhaustion": "foresight.predictors.exhaustion.predictor:ExhaustionPredictor",
    "anomaly": "foresight.predictors.anomaly.predictor:AnomalyPredictor",
    "logs": "foresight.predictors.logs.predictor:LogsPredictor",
}


def plugin_class(kind: str):
    if kind not in PLUGINS:
        raise KeyError(f"unknown predictor kind {kind!r} (valid kinds: {', '.join(sorted(PLUGINS))})")
    module, _, name = PLUGINS[kind].partition(":")
    return getattr(import_module(module), name)


def config_class(kind: str):
    return plugin_class(kind).Config


def build_predictor(config):
    return plugin_class(config.kind)(config)
