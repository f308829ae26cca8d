"""What drives the data path: the engine (one evaluation loop on event time), the sidecar
service (Kafka in, /metrics out), backtests (CSV in, CSV out) and the `foresight` CLI."""
from .engine import Engine

__all__ = ["Engine"]
