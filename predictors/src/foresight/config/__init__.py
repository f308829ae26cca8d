"""Predictor configs: one reader of YAML fields (reader), the domain schema (schema,
alerting), and the loader that hands each predictor to its kind's typed config (loader)."""
from .alerting import AlertingConfig
from .loader import load_config, parse_config
from .reader import ConfigError, Fields, parse_quantity
from .schema import ACTION_PLACEHOLDERS, Config, PolicyConfig, PredictorConfig, check_action

__all__ = ["ACTION_PLACEHOLDERS", "AlertingConfig", "Config", "ConfigError", "Fields", "PolicyConfig",
           "PredictorConfig", "check_action", "load_config", "parse_config", "parse_quantity"]
