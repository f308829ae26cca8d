"""Foresight predictor sidecars: forecast failures from telemetry, publish them to Prometheus."""
from .config import Config, ConfigError, load_config, parse_config
from .engine import Engine
from .registry import PLUGINS, build_predictor

__all__ = ["Config", "ConfigError", "Engine", "PLUGINS", "build_predictor", "load_config", "parse_config"]
__version__ = "0.1.0"
