"""Labels of decoded OTLP points: the Prometheus translation, the caps that keep hostile input
bounded, and caches for what repeats from one scrape to the next.

Caps (a point over one is dropped and counted by reason; docs/metrics.md "Bad input"):
at most MAX_LABELS labels on a point (resource labels included), label names up to
MAX_LABEL_NAME_LENGTH and values up to MAX_LABEL_VALUE_LENGTH characters (the limits Grafana
Cloud Metrics enforces; Prometheus' own scrape limits are off unless set), event times after
1970 and before 2100.
"""
import re

from foresight.contracts.selectors import sanitize_name as sanitize  # config errors suggest the same names

MAX_LABELS = 64
MAX_LABEL_NAME_LENGTH = 1024
MAX_LABEL_VALUE_LENGTH = 2048
MAX_NANOS = 4_102_444_800 * 10**9  # 2100-01-01: later is a corrupt clock or a flipped bit
TOO_MANY_LABELS, LABEL_TOO_LONG, TIMESTAMP_OUT_OF_RANGE = "too_many_labels", "label_too_long", "timestamp_out_of_range"
_COMPOSITE = frozenset({"array_value", "kvlist_value", "bytes_value"})
# A value too big to render: any text over the value cap, so the point is refused by length.
TOO_LONG = "\x00" * (MAX_LABEL_VALUE_LENGTH + 1)

_UNIT_SUFFIX = {
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
    "min": "minutes", "h": "hours", "d": "days", "1": "ratio", "%": "percent",
    "Hz": "hertz", "Cel": "celsius", "V": "volts", "W": "watts", "A": "amperes",
}


def prometheus_name(name: str, unit: str = "", counter: bool = False) -> str:
    """`process.memory.usage` + `By` -> `process_memory_usage_bytes`."""
    base = sanitize(name)
    unit = re.sub(r"\{[^}]*\}", "", unit or "").strip()
    suffix = _UNIT_SUFFIX.get(unit, sanitize(unit) if unit else "")
    if "/" in unit:
        num, _, den = unit.partition("/")
        suffix = "_per_".join(filter(None, (_UNIT_SUFFIX.get(num, sanitize(num)) if num else "",
                                            _UNIT_SUFFIX.get(den, sanitize(den)))))
    if suffix == "ratio" and counter:
        suffix = ""
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    if counter and not base.endswith("_total"):
        base += "_total"
    return base


def any_value(v, limit: int = MAX_LABEL_VALUE_LENGTH) -> str:
    """An attribute value as text; TOO_LONG for an array, map or bytes too big to render."""
    kind = v.WhichOneof("value")
    if kind is None:
        return ""
    if kind in _COMPOSITE and v.ByteSize() > limit:
        return TOO_LONG
    return str(getattr(v, kind))


_RESOURCE_KEYS = frozenset({"service.name", "service.namespace", "service.instance.id"})


def resource_labels(resource) -> dict:
    attrs = {kv.key: any_value(kv.value) for kv in resource.attributes if kv.key in _RESOURCE_KEYS}
    labels = {}
    service = attrs.get("service.name", "")
    if service:
        ns = attrs.get("service.namespace")
        labels["job"] = f"{ns}/{service}" if ns else service
    if attrs.get("service.instance.id"):
        labels["instance"] = attrs["service.instance.id"]
    return labels


def checked(labels: dict) -> tuple | str:
    """Sorted label pairs, or the reason the point is refused."""
    if len(labels) > MAX_LABELS:
        return TOO_MANY_LABELS
    for name, value in labels.items():
        if len(value) > MAX_LABEL_VALUE_LENGTH or len(name) > MAX_LABEL_NAME_LENGTH:
            return LABEL_TOO_LONG
    return tuple(sorted(labels.items()))


class _Bounded(dict):
    """A cache that forgets everything at `limit` entries: under churn it costs a recompute,
    never memory."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


_NAMES = _Bounded(4096)  # (name, unit, counter) -> Prometheus name
_LABEL_NAMES = _Bounded(4096)  # attribute key -> label name
_CACHEABLE_CHARS = 512  # longer attribute sets are decoded every time, not held


def metric_name(name: str, unit: str, counter: bool) -> str:
    key = (name, unit, counter)
    hit = _NAMES.get(key)
    if hit is None:
        hit = prometheus_name(name, unit, counter)
        if len(name) + len(unit) <= _CACHEABLE_CHARS:
            _NAMES.put(key, hit)
    return hit


def _label_name(key: str) -> str:
    hit = _LABEL_NAMES.get(key)
    if hit is None:
        hit = sanitize(key)
        if len(key) <= _CACHEABLE_CHARS:
            _LABEL_NAMES.put(key, hit)
    return hit


class LabelMaker:
    """Label pairs of the data points of one resource, cached by attribute set across
    messages (a scrape repeats the last one's series)."""
    _by_resource = _Bounded(4096)  # resource labels -> {attribute set -> labels or reason}
    _entries = 0
    LIMIT = 32768  # attribute sets held, over every resource

    def __init__(self, base: dict):
        self.base = base
        key = tuple(base.items())
        cache = self._by_resource.get(key)
        if cache is None:
            cache = self._by_resource.put(key, {}) if sum(map(len, base.values())) <= _CACHEABLE_CHARS else {}
        self.cache = cache
        self.bare = checked(dict(base))  # the labels of a point without attributes

    def labels(self, attributes) -> tuple | str:
        """Sorted (name, value) pairs of a point with these attributes, or why it is refused."""
        n = len(attributes)
        if n == 0:
            return self.bare
        if n > MAX_LABELS:
            return TOO_MANY_LABELS  # refused before reading 100,000 of them
        raw = []
        for kv in attributes:
            raw.append(kv.key)
            raw.append(kv.value.string_value)
        raw = tuple(raw)
        hit = self.cache.get(raw)
        return self.miss(raw, attributes) if hit is None else hit

    def miss(self, raw: tuple, attributes) -> tuple | str:
        """The labels of an attribute set not in the cache (`raw`: its keys and string values, flat)."""
        labels = self.make(attributes)
        # An empty string_value may stand for another type: only all-string sets are cached.
        if all(raw[1::2]) and sum(map(len, raw)) <= _CACHEABLE_CHARS:
            if LabelMaker._entries >= self.LIMIT:
                for cache in self._by_resource.values():
                    cache.clear()
                LabelMaker._entries = 0
            self.cache[raw] = labels
            LabelMaker._entries += 1
        return labels

    def make(self, attributes, extra: dict | None = None) -> tuple | str:
        labels = dict(self.base)
        for kv in attributes:
            labels[_label_name(kv.key)] = any_value(kv.value)
        if extra:
            labels.update(extra)
        return checked(labels)


_BUCKETS = _Bounded(1024)  # (labels, bounds) -> the bucket series' labels: a few MB at most


def bucket_labels(labels: tuple, bounds: tuple) -> list:
    """The labels of each bucket (`le` added); a bucket over the label cap gets the reason."""
    key = (labels, bounds)
    hit = _BUCKETS.get(key)
    if hit is None:
        hit = [checked(dict(labels, le=_le(b))) for b in bounds]
        if len(bounds) <= 32:
            _BUCKETS.put(key, hit)
    return hit


def _le(bound: float) -> str:
    """Bucket bounds as the collector's translation writes them: 0.25, 1, +Inf."""
    if bound == float("inf"):
        return "+Inf"
    text = repr(float(bound))
    return text[:-2] if text.endswith(".0") else text


__all__ = ["LABEL_TOO_LONG", "MAX_LABELS", "MAX_LABEL_NAME_LENGTH", "MAX_LABEL_VALUE_LENGTH", "MAX_NANOS",
           "TIMESTAMP_OUT_OF_RANGE", "TOO_MANY_LABELS", "LabelMaker", "any_value", "bucket_labels", "checked",
           "metric_name", "prometheus_name", "resource_labels", "sanitize"]
