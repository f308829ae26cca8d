"""Publishers: the Prometheus exposition of predictions and pipeline health (metrics), and
the sidecar's HTTP endpoints (endpoints), the model scorecard and drift flags (models). Grafana annotations are written by feedback/."""
from .endpoints import serve
from .metrics import HealthMetrics, PredictionCollector
from .models import ModelCollector

__all__ = ["HealthMetrics", "ModelCollector", "PredictionCollector", "serve"]
