"""Held-out crash runs: simulated node_exporter data of a store cluster that crashes."""
