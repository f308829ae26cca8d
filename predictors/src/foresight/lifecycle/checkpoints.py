"""Checkpoints: rows of state (section, name, key, value) written to a state store and
read back.

Taking one has two halves. `snapshot` copies the rows into JSON-ready nodes on the thread
that owns the state (the consumer), so the state may change as soon as it returns;
`write` turns the nodes into documents and writes them, on a writer thread. `restore`
decodes each row on its own, so a row that is not Foresight state costs that row only.
"""
import json
import logging
import time
from dataclasses import dataclass, field

from .codec import VERSION, StateError, decode, dumps, encode, loads
from .stores import Checkpoint, PartitionCheckpoint, redact

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    event_time: float
    meta: dict
    rows: list  # (section, name, key nodes, value nodes)


@dataclass
class Restored:
    event_time: float
    written_at: float
    meta: dict
    rows: list = field(default_factory=list)  # (section, name, key, value), decoded
    unreadable: int = 0  # rows that were not Foresight state, skipped


def snapshot(rows, event_time: float, meta: dict | None = None) -> Snapshot:
    """Copy the rows (the part that must run where the state is changed)."""
    return Snapshot(event_time, dict(meta or {}),
                    [(section, name, encode(key), encode(value)) for section, name, key, value in rows])


def write(store, snap: Snapshot) -> int:
    """Write a snapshot as the store's latest checkpoint; returns the bytes of its documents."""
    rows = [(section, name, json.dumps(key, separators=(",", ":")), dumps(value, section))
            for section, name, key, value in snap.rows]
    store.write(Checkpoint(VERSION, snap.event_time, time.time(), snap.meta, rows))
    return sum(len(r[2]) + len(r[3]) for r in rows)


def write_partitions(store, group: str, snaps: dict) -> int:
    """Write partition -> (snapshot, next offset) as each partition's latest state, in one
    transaction; returns the bytes of their documents."""
    items, size = [], 0
    for partition, (snap, next_offset) in snaps.items():
        rows = [(section, name, json.dumps(key, separators=(",", ":")), dumps(value, section))
                for section, name, key, value in snap.rows]
        size += sum(len(r[2]) + len(r[3]) for r in rows)
        items.append((partition, PartitionCheckpoint(VERSION, snap.event_time, time.time(), int(next_offset), rows)))
    store.write_partitions(group, items)
    return size


def restore_partitions(store, group: str, partitions) -> dict:
    """partition -> Restored (its meta holds `next_offset`), for the partitions the store holds
    state of; a partition written by another state version is left out (and logged)."""
    out = {}
    for partition, checkpoint in store.read_partitions(group, partitions).items():
        if checkpoint.state_version != VERSION:
            log.warning("state store %s: partition %s has state version %d, this Foresight reads %d; it starts "
                        "without state", redact(store.location), partition, checkpoint.state_version, VERSION)
            continue
        restored = Restored(checkpoint.event_time, checkpoint.written_at, {"next_offset": checkpoint.next_offset})
        _decode_rows(store, checkpoint.rows, restored)
        out[partition] = restored
    return out


def restore(store) -> Restored | None:
    """The latest checkpoint's rows, decoded; None when the store holds none. StateError
    when the checkpoint as a whole is of another version; StoreError when it cannot be read."""
    checkpoint = store.read()
    if checkpoint is None:
        return None
    if checkpoint.state_version != VERSION:
        raise StateError(f"state store {redact(store.location)}: its checkpoint has state version "
                         f"{checkpoint.state_version}, this Foresight reads version {VERSION}")
    restored = Restored(checkpoint.event_time, checkpoint.written_at, checkpoint.meta)
    _decode_rows(store, checkpoint.rows, restored)
    return restored


def _decode_rows(store, rows, restored: Restored):
    for section, name, target, document in rows:
        try:
            key = decode(json.loads(target))
            if not isinstance(key, tuple):
                raise StateError(f"the target {target[:80]!r} is not a key")
            restored.rows.append((section, name, key, loads(document, section)))
        except (StateError, ValueError) as exc:
            restored.unreadable += 1
            log.warning("state store %s: row %s/%s/%s skipped: %s", redact(store.location), section, name or "-",
                        target[:200], exc)


__all__ = ["Restored", "Snapshot", "restore", "restore_partitions", "snapshot", "write", "write_partitions"]
