"""Where telemetry comes from: Kafka (OTLP protobuf) and Prometheus history."""
