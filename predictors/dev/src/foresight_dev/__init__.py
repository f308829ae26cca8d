"""Foresight's dev tooling, outside the runtime install: the local demo stack (devstack) and
the Grafana dashboards built in code (dashboards). Both plug into the `foresight` CLI as
`foresight demo` and `foresight dashboards` (entry points `foresight.commands`)."""

__all__: list[str] = []
