"""One anomaly, one alarm: damp the scores that follow a high score for a while.

NAB (and an on-call human) counts the first detection of an anomaly and charges every
further alarm outside the anomaly, so repeats of the same alarm only cost.

The quiet period grows with how long the series has been watched (a share of the rows
seen, between a floor and a cap): early on little is known and alarms come close
together; a long-watched series should raise one alarm per episode, and an episode of
a long series usually spans more rows. This is causal (only the count of rows so far).
"""


class QuietPeriod:
    def __init__(self, alarm_level: float, quiet_rows: int, quiet_factor: float,
                 share_of_seen: float = 0.0, max_rows: int | None = None):
        self._alarm_level = alarm_level
        self._quiet_rows = quiet_rows
        self._quiet_factor = quiet_factor
        self._share_of_seen = share_of_seen
        self._max_rows = quiet_rows if max_rows is None else max_rows
        self.rows_left = 0

    def length(self, rows_seen: int) -> int:
        """Quiet rows that follow an alarm raised after `rows_seen` rows."""
        grown = int(self._share_of_seen * rows_seen)
        return min(max(self._quiet_rows, grown), self._max_rows)

    def apply(self, score: float, rows_seen: int = 0) -> float:
        if self.rows_left > 0:
            self.rows_left -= 1
            return score * self._quiet_factor
        if score >= self._alarm_level:
            self.rows_left = self.length(rows_seen)
        return score
