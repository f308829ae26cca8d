"""Incidents: at-risk predictions on services that call each other, grouped under one id.

`SpanEdgeDecoder` turns OTLP traces into caller -> callee edges, `ServiceGraph` keeps the
recent ones, and `IncidentCorrelator` groups predictions that start together on connected
services and names the root-cause candidate.
"""
from .correlate import AtRisk, Incident, IncidentCorrelator
from .graph import EdgeStats, ServiceGraph
from .spans import Edge, SpanEdgeDecoder

__all__ = ["AtRisk", "Edge", "EdgeStats", "Incident", "IncidentCorrelator", "ServiceGraph", "SpanEdgeDecoder"]
