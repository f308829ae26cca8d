"""Replicas of one consumer group hand partitions over through the shared state store.

- A series belongs to the Kafka partition its points came from, and a replica predicts the
  series of the partitions it owns only (SeriesStore.targets_matching).
- Every `every` of event time the state of each owned partition is written, with the
  offset of the first message it does not hold, on a writer thread, in one transaction.
- When the group takes partitions away (`revoked`), their state is written at once, before
  any member is given them: Kafka runs every member's "revoked" before any member's
  "assigned". The replica stops predicting them.
- When partitions are `assigned`, the state of those new to this replica is read back
  before their first message, and the consumer seeks to the offset it holds up to: what
  came after is read again (after a replica was killed, those messages were committed but
  not in its last checkpoint). Revoked partitions not given back are dropped and their
  predictions withdrawn.
- kafka-python revokes every partition at each rebalance and often gives the same ones
  back: those keep their state in memory and are read on from where this replica got to.

The shared store is PostgreSQL: a SQLite file serves one replica only (restarts.py).
"""
import logging
import math
import time

from foresight.lifecycle import StateError, StoreError, open_store, redact, restore_partitions, snapshot
from foresight.lifecycle import write_partitions

from .background import Worker
from .engine_partitions import drop_partitions, export_partitions, import_partition

log = logging.getLogger(__name__)


def partition_name(topic: str, partition: int) -> str:
    return f"{topic}/{partition}"


class PartitionKeeper:
    def __init__(self, engine, location: str, every: float, group: str):
        self.engine, self.every, self.group = engine, every, group
        self.store = open_store(location)
        self.location = redact(location)
        self.writer = Worker("partition-writer", self._write, max_pending=4)
        self.next_due = -math.inf
        self.owned: set[str] = set()
        self._parked: set[str] = set()  # revoked, kept until the assignment says whether they come back
        self.ingested: dict[str, int] = {}  # partition -> offset of the next message to take
        self.written = self.failed = self.restored = 0

    def expect_assignment(self):
        """From now on (before the warm-up), only what the group assigns is this replica's."""
        self.engine.store.own(self.owned)

    def took(self, partition: str, offset: int):
        """A message of `partition` at `offset` is in the engine."""
        self.ingested[partition] = offset + 1

    # -- periodic checkpoints ----------------------------------------------------------
    def due(self, now: float) -> bool:
        if now < self.next_due:
            return False
        if self.next_due == -math.inf:
            self.next_due = now + self.every
            return False
        return self.writer.pending() == 0

    def checkpoint(self):
        """Copy the owned partitions' state now and hand it to the writer."""
        snaps = self._snapshots(self.owned)
        self.next_due = self.engine.store.watermark + self.every
        if snaps:
            self.writer.submit(snaps)

    def _snapshots(self, partitions) -> dict:
        now = self.engine.store.watermark
        partitions = [p for p in partitions if p in self.ingested]  # with nothing taken there is nothing to keep
        if now == -math.inf or not partitions:
            return {}
        try:
            rows = export_partitions(self.engine, partitions)
            return {p: (snapshot(rows[p], now), self.ingested[p]) for p in partitions}
        except StateError as exc:
            self.failed += 1
            log.error("partition checkpoint skipped: %s", exc)
            return {}

    def _write(self, batches: list):
        snaps = {}
        for batch in batches:  # later copies of a partition replace earlier ones
            snaps.update(batch)
        self._write_now(snaps)

    def _write_now(self, snaps: dict) -> bool:
        started = time.monotonic()
        try:
            size = write_partitions(self.store, self.group, snaps)
        except StoreError as exc:
            self.failed += 1
            log.error("%s (the next checkpoint tries again)", exc)
            return False
        self.written += 1
        log.info("state of %d partitions written to %s: %.1f MB in %.2fs", len(snaps), self.location, size / 1e6,
                 time.monotonic() - started)
        return True

    # -- rebalances (called inside the consumer's poll) ---------------------------------
    def revoked(self, partitions: set):
        """Write the state of partitions the group takes away, and stop predicting them."""
        mine = set(partitions) & self.owned
        self.writer.flush()  # an older copy must not land after this one
        snaps = self._snapshots(mine)
        if snaps:
            self._write_now(snaps)
        self.owned -= mine
        self._parked |= mine
        self.engine.store.own(self.owned)

    def assigned(self, partitions: set) -> tuple[dict, list]:
        """Take the new partitions' state back. Returns (partition -> offset to read from,
        prediction keys to withdraw)."""
        partitions = set(partitions)
        back, gone = self._parked & partitions, self._parked - partitions
        self._parked = set()
        withdrawn = drop_partitions(self.engine, gone) if gone else []
        for partition in gone:
            self.ingested.pop(partition, None)
        seek = {p: self.ingested[p] for p in back if p in self.ingested}
        new = partitions - back - self.owned
        if new:
            seek.update(self._restore(new))
        self.owned |= partitions
        self.engine.store.own(self.owned)
        if gone or new:
            log.info("partitions: %d kept, %d new to this replica, %d handed on (%s)", len(back), len(new), len(gone),
                     ", ".join(sorted(new)) or "-")
        return seek, withdrawn

    def _restore(self, partitions: set) -> dict:
        started = time.monotonic()
        try:
            restored = restore_partitions(self.store, self.group, sorted(partitions))
        except (StoreError, StateError) as exc:
            log.error("%s; partitions %s start without saved state", exc, ", ".join(sorted(partitions)))
            return {}
        seek = {}
        for partition, state in restored.items():
            report = import_partition(self.engine, partition, state.rows)
            self.restored += report.rows
            offset = int(state.meta["next_offset"])
            self.ingested[partition] = seek[partition] = offset
            log.info("partition %s: %d state rows restored (event time %.0f, written %.0fs ago), reading from "
                     "offset %d%s", partition, report.rows, state.event_time, time.time() - state.written_at, offset,
                     f"; skipped {report.skipped}" if report.skipped else "")
        log.debug("partition state read in %.2fs", time.monotonic() - started)
        return seek

    def close(self, timeout: float | None = None):
        """Write the owned partitions' state (shutdown), then close the store."""
        snaps = self._snapshots(self.owned)
        if snaps:
            self.writer.submit(snaps)
        if not self.writer.close(timeout):
            log.error("partition writer still busy after %ss; the last checkpoint may be lost", timeout)
            return
        self.store.close()


__all__ = ["PartitionKeeper", "partition_name"]
