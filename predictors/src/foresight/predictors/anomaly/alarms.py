"""One anomaly, one alarm: damp the scores that follow a high score for a while.

NAB (and an on-call human) counts the first detection of an anomaly and charges every
further alarm outside the anomaly, so repeats of the same alarm only cost.

The quiet period grows with how long the series has been watched (a share of the rows
seen, between a floor and a cap): early on little is known and alarms come close
together; a long-watched series should raise one alarm per episode, and an episode of
a long series usually spans more rows. This is causal (only the count of rows so far).

An alarm below `breakthrough` (by default the policy's alert threshold, 0.9) has alerted
no one, so it must not hide a stronger anomaly for long: a quiet period opened by such a
score hides scores at or above `breakthrough` only for its first `quiet_rows` rows (the
same burst, a row or two later). After that such a score ends it, is published, and
opens a new quiet period. A slowdown whose score passes 0.45 on its way to 1.0, or an
error spike an hour after a moderate alarm on the creep before it, then still alerts.
"""


class QuietPeriod:
    def __init__(self, alarm_level: float, quiet_rows: int, quiet_factor: float,
                 share_of_seen: float = 0.0, max_rows: int | None = None, breakthrough: float | None = None):
        self._alarm_level = alarm_level
        self._quiet_rows = quiet_rows
        self._quiet_factor = quiet_factor
        self._share_of_seen = share_of_seen
        self._max_rows = quiet_rows if max_rows is None else max_rows
        # At or below the alarm level no quiet period is opened below it: off.
        self._breakthrough = breakthrough if breakthrough is not None else float("inf")
        self.rows_left = 0
        self._opened_by = 0.0  # the score that opened the current quiet period
        self._rows_quiet = 0  # rows since it opened

    def length(self, rows_seen: int) -> int:
        """Quiet rows that follow an alarm raised after `rows_seen` rows."""
        grown = int(self._share_of_seen * rows_seen)
        return min(max(self._quiet_rows, grown), self._max_rows)

    def apply(self, score: float, rows_seen: int = 0) -> float:
        if self.rows_left > 0:
            self._rows_quiet += 1
            if not self._breaks_through(score):
                self.rows_left -= 1
                return score * self._quiet_factor
        if score >= self._alarm_level:
            self.rows_left = self.length(rows_seen)
            self._opened_by, self._rows_quiet = score, 0
        return score

    def _breaks_through(self, score: float) -> bool:
        return self._opened_by < self._breakthrough <= score and self._rows_quiet > self._quiet_rows
