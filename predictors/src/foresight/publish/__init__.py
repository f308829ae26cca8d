"""Publishers: the Prometheus exposition of predictions and pipeline health (metrics), and
the sidecar's HTTP endpoints (endpoints). Grafana annotations are written by feedback/."""
from .endpoints import serve
from .metrics import HealthMetrics, PredictionCollector

__all__ = ["HealthMetrics", "PredictionCollector", "serve"]
