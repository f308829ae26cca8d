"""PromQL-style series selectors: `name{label="v", other=~"re"}`.

Predictor configs name their series with selectors so the same text works on the Kafka
stream and as a Prometheus query for warm-up.
"""
import re
from dataclasses import dataclass

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_EXPRESSION = re.compile(r"[()\[\]]")  # functions and range vectors: PromQL, not a selector
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str

    def matches(self, labels: dict) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        full = re.fullmatch(self.value, actual) is not None
        return full if self.op == "=~" else not full

    def promql(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.label}{self.op}"{escaped}"'


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple = ()

    def matches(self, metric: str, labels: dict) -> bool:
        return metric == self.metric and all(m.matches(labels) for m in self.matchers)

    def promql(self) -> str:
        if not self.matchers:
            return self.metric
        return self.metric + "{" + ",".join(m.promql() for m in self.matchers) + "}"

    def __str__(self) -> str:
        return self.promql()


def sanitize_name(name: str) -> str:
    """A name as the OpenTelemetry-to-Prometheus translation writes it: `system.memory.usage`
    -> `system_memory_usage`; a leading digit gets a `_`. Pure, so contracts and sources share it."""
    clean = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    return "_" + clean if clean[:1].isdigit() else clean


def format_labels(labels: dict) -> str:
    """`{job="node",mountpoint="/"}`: sorted by name, values quoted and escaped as in PromQL."""
    def quoted(value) -> str:
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return "{" + ",".join(f"{name}={quoted(value)}" for name, value in sorted(labels.items())) + "}"


def _bad_name(text: str, s: str) -> ValueError | None:
    """The error for a selector whose metric name is not a Prometheus name, with the name to
    use instead; None when the name is fine (the problem is elsewhere)."""
    head, brace, tail = s.partition("{")
    name = head.strip()
    if not name or re.fullmatch(_NAME, name):
        return None
    if _EXPRESSION.search(name):
        return ValueError(f"{text!r} is a PromQL expression; give a series selector, a metric name with "
                          f"optional label matchers such as process_memory_usage_bytes{{job=\"checkout\"}}")
    where = f"{text!r}: " if brace else ""
    return ValueError(f"{where}{name!r} is not a Prometheus metric name (only letters, digits, '_' and ':', not "
                      f"starting with a digit); use {sanitize_name(name) + brace + tail!r}, the name the "
                      f"OpenTelemetry-to-Prometheus translation gives it")


def parse_selector(text: str) -> Selector:
    """Parse a selector. Raises ValueError naming what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected a series selector such as process_memory_usage_bytes{job=\"checkout\"}")
    s = text.strip()
    if (error := _bad_name(text, s)) is not None:
        raise error
    m = re.match(_NAME, s)
    if not m:
        raise ValueError(f"{text!r} does not start with a metric name")
    metric, rest = m.group(0), s[m.end():].strip()
    if not rest:
        return Selector(metric)
    if not (rest.startswith("{") and rest.endswith("}")):
        raise ValueError(f"{text!r}: expected '{{label=\"value\", ...}}' after the metric name")
    body = rest[1:-1].strip()
    matchers, pos = [], 0
    while pos < len(body):
        mm = _MATCHER.match(body, pos)
        if not mm:
            raise ValueError(f"{text!r}: cannot read the label matcher at {body[pos:]!r}")
        label, op, raw = mm.group(1), mm.group(2), mm.group(3)
        value = re.sub(r"\\(.)", r"\1", raw)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{text!r}: bad regular expression {value!r}: {exc}") from None
        matchers.append(Matcher(label, op, value))
        pos = mm.end()
    return Selector(metric, tuple(matchers))
