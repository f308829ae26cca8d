"""The PromQL of a dashboard: panel targets and template variable queries, with where each
is used, so tests can run every one against a real Prometheus."""
import re
from dataclasses import dataclass

from .render import panels_in_order

VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.*),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    ref_id: str
    expr: str
    instant: bool

    @property
    def where(self) -> str:
        return f"dashboard {self.dashboard!r} panel {self.panel!r} query {self.ref_id}"


@dataclass(frozen=True)
class VariableQuery:
    name: str
    selector: str  # series selector, empty for all series
    label: str
    multi: bool
    all_value: str | None


def panel_queries(dashboard: dict) -> list[PanelQuery]:
    found = []
    for panel in panels_in_order(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append(PanelQuery(dashboard["title"], panel.get("title", ""), target.get("refId", ""),
                                        target["expr"], bool(target.get("instant")) and not target.get("range")))
    return found


def variable_queries(dashboard: dict) -> list[VariableQuery]:
    """Query variables in dashboard order (later ones may use earlier ones)."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = LABEL_VALUES.match(query.strip())
        if not match:
            raise ValueError(f"dashboard {dashboard['title']!r} variable {variable['name']!r}: "
                             f"only label_values(...) queries are supported, got {query!r}")
        found.append(VariableQuery(variable["name"], match["selector"] or "", match["label"],
                                   bool(variable.get("multi")) or bool(variable.get("includeAll")),
                                   variable.get("allValue") if variable.get("includeAll") else None))
    return found


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace $name and ${name} like Grafana does; an unknown variable is an error, not left in."""
    def replace(match: re.Match) -> str:
        name = match[1] or match[2]
        if name not in values:
            raise KeyError(f"no value for template variable ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def used_variables(text: str) -> set[str]:
    return {m[1] or m[2] for m in VARIABLE.finditer(text)}
