"""Which limit series belongs to which target.

With `limit_match_on`, a limit series matches a target with the same values of those
labels. Without it, it matches on every label the two series share by name, so
`node_filesystem_size_bytes` finds the `node_filesystem_avail_bytes` of the same
instance, device and mountpoint with no configuration; series from another exporter
(other `job` and `instance`) need `limit_match_on`. The most specific match wins.

Exporters write "no limit" as a number: cAdvisor's container_spec_memory_limit_bytes is 0
for a container without one, JMX and Micrometer report a pool's undefined maximum as -1.
For a resource that fills up, a limit series at or below 0 is read so (`limit_value`): the
target has no limit, so no prediction, rather than one "already past its limit".
"""


def limit_value(window, sign: float) -> float | None:
    """The limit a limit series' window gives now, or None for "no limit": no window, a
    value at or below 0 for a resource that fills up (`sign` > 0), or NaN."""
    if window is None:
        return None
    value = window.last_value
    return None if value != value or (sign > 0 and value <= 0.0) else value


class LimitIndex:
    def __init__(self, limits: list, match_on: tuple | None):
        self.match_on = match_on
        self._groups: dict[frozenset, list] = {}  # label names of limit series -> [(labels, window)]
        for key, window in limits:
            labels = dict(key[1])
            self._groups.setdefault(frozenset(labels), []).append((labels, window))
        self._indexes: dict[tuple, dict] = {}  # (label names group, shared names) -> values -> window

    def find(self, labels: dict):
        """The window of the limit series for a target with these labels, or None."""
        if self.match_on is not None:
            return self._lookup(None, tuple(self.match_on), labels)
        best, best_size = None, -1
        for names in self._groups:
            shared = tuple(sorted(names & labels.keys()))
            if len(shared) > best_size:
                found = self._lookup(names, shared, labels)
                if found is not None:
                    best, best_size = found, len(shared)
        return best

    def _lookup(self, names, shared: tuple, labels: dict):
        index = self._indexes.get((names, shared))
        if index is None:
            members = [m for group, items in self._groups.items() if names is None or group == names for m in items]
            index = self._indexes[(names, shared)] = {}
            for member_labels, window in members:
                index.setdefault(tuple(member_labels.get(n, "") for n in shared), window)
        return index.get(tuple(labels.get(n, "") for n in shared))
