"""A local stand-in for the compose stack, for `foresight demo` and the integration tests.

Every part is a real server started on free loopback ports: tansu (a Kafka API broker),
rotel (an OTLP collector writing to Kafka), Prometheus, Alertmanager, and the sidecar.
"""

__all__: list[str] = []
