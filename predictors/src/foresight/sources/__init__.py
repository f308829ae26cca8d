"""Where telemetry comes from: OTLP protobuf from Kafka (otlp, kafka), Prometheus history
(prometheus) and CSV files for backtests (csv_table). Each hands points to the store."""
from .otlp import DECODERS, decode_logs, decode_metrics, decode_traces, prometheus_name, resource_labels, sanitize

__all__ = ["DECODERS", "decode_logs", "decode_metrics", "decode_traces", "prometheus_name", "resource_labels",
           "sanitize"]
