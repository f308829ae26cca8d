"""Foresight predictor sidecars: forecast failures from telemetry, publish them to Prometheus.

The package reads in the order data flows (docs/architecture.md):
contracts -> config -> sources -> store -> predictors -> explain -> policy -> publish,
with feedback and lifecycle beside them, runtime (engine, service, CLI) driving the path,
and generate (alert rules) writing what Prometheus loads.
"""
__version__ = "0.1.0"

__all__ = ["__version__"]
