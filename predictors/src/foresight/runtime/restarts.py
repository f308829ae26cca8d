"""Restarts that remember: the engine's state checkpointed to a state store, and restored.

- Restore runs before the first Kafka poll. The checkpoint also names the Kafka offsets
  it covers; once the partitions are assigned, the consumer seeks to them (service.py), so messages
  that arrived after the checkpoint are read again into the restored state (after a
  crash they were committed but not checkpointed) and none twice.
- A checkpoint is taken every `every` of event time and at shutdown. The state is copied
  on the consumer thread (lifecycle.snapshot) and written on a writer thread; while a
  write is under way, the next copy waits for it rather than queueing up.
- A store that cannot be read means a start without state (with a Prometheus warm-up);
  a write that fails is logged and the next checkpoint tries again.
"""
import logging
import math
import time

from foresight.lifecycle import StateError, StoreError, open_store, redact, restore, snapshot, write

from .background import Worker

log = logging.getLogger(__name__)


class StateKeeper:
    def __init__(self, engine, location: str, every: float, consumer_group: str = ""):
        self.engine, self.every, self.consumer_group = engine, every, consumer_group
        self.store = open_store(location)
        self.location = redact(location)
        self.writer = Worker("state-writer", self._write, max_pending=4)
        self.next_due = -math.inf
        self.offsets: dict[str, int] = {}  # "topic/partition" -> offset the restored checkpoint covers
        self.written = self.failed = 0
        self.written_event_time: float | None = None  # event time of the last checkpoint written
        self.unreadable = 0  # rows of the restored checkpoint that were not taken back

    def restore(self) -> bool:
        """Take the latest checkpoint back into the engine; False when there is none to take."""
        started = time.monotonic()
        try:
            restored = restore(self.store)
        except (StoreError, StateError) as exc:
            log.error("%s; starting without saved state", exc)
            return False
        if restored is None:
            log.info("state store %s holds no checkpoint yet", self.location)
            return False
        report = self.engine.import_state(restored.rows)
        self.unreadable = restored.unreadable + report.skipped.get("unreadable", 0)
        if restored.meta.get("consumer_group") == self.consumer_group:
            self.offsets = {str(k): int(v) for k, v in (restored.meta.get("offsets") or {}).items()}
        self.next_due = restored.event_time + self.every
        skipped = {**report.skipped, **({"unreadable": self.unreadable} if self.unreadable else {})}
        log.info("restored %d state rows from %s (checkpoint at event time %s, written %.0fs ago) in %.1fs%s%s",
                 report.rows, self.location, _utc(restored.event_time), time.time() - restored.written_at,
                 time.monotonic() - started, f"; skipped {skipped}" if skipped else "",
                 f"; models afresh for {report.fresh}" if report.fresh else "")
        return report.rows > 0

    def due(self, now: float) -> bool:
        if now < self.next_due:
            return False
        if self.next_due == -math.inf:  # the first data of a start without state: count from here
            self.next_due = now + self.every
            return False
        return self.writer.pending() == 0

    def checkpoint(self, source=None):
        """Copy the state now and hand it to the writer."""
        now = self.engine.store.watermark
        if now == -math.inf:
            return  # nothing seen yet: nothing to keep
        started = time.monotonic()
        try:
            snap = snapshot(self.engine.export_state(), now,
                            {"consumer_group": self.consumer_group, "offsets": kafka_offsets(source)})
        except StateError as exc:  # a part of the state that is not state: a bug to fix, not a reason to stop
            self.failed += 1
            log.error("checkpoint skipped: %s", exc)
            return
        self.next_due = now + self.every
        log.debug("state copied for a checkpoint in %.3fs", time.monotonic() - started)
        self.writer.submit(snap)

    def _write(self, snapshots: list):
        snap = snapshots[-1]  # a newer checkpoint holds everything an older one does
        started = time.monotonic()
        try:
            size = write(self.store, snap)
        except StoreError as exc:
            self.failed += 1
            log.error("%s (the next checkpoint tries again)", exc)
            return
        self.written += 1
        self.written_event_time = snap.event_time
        log.info("checkpoint at event time %s written to %s: %d rows, %.1f MB in %.2fs", _utc(snap.event_time),
                 self.location, len(snap.rows), size / 1e6, time.monotonic() - started)

    def close(self, timeout: float | None = None):
        """Finish the writes under way, then close the store."""
        if not self.writer.close(timeout):
            log.error("state writer still busy after %ss; the last checkpoint may be lost", timeout)
            return
        self.store.close()


def kafka_offsets(source) -> dict:
    """The next offset to read of each assigned partition: what the state holds up to."""
    consumer = getattr(source, "consumer", None)
    if consumer is None:
        return {}
    return {f"{tp.topic}/{tp.partition}": int(consumer.position(tp)) for tp in consumer.assignment()}


def _utc(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


__all__ = ["StateKeeper", "kafka_offsets"]
