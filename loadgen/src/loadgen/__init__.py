"""Foresight load generator: simulated services that fail in named ways, sent over OTLP."""
