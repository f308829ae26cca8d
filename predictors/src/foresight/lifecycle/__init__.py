"""Model lifecycle (beside the data path): the one safe serialised form of Foresight
state (`codec`: typed JSON, never pickle), and checkpoints of it (`checkpoints`) in a state
store (`stores`: a SQLite file or PostgreSQL). Model bundles in the MLflow registry, drift
detection and shadow mode are to come; see docs/architecture.md."""
from .checkpoints import Restored, Snapshot, restore, snapshot, write
from .codec import FORMAT, VERSION, StateError, decode, dumps, encode, loads
from .stores import Checkpoint, StoreError, open_store, redact

__all__ = ["FORMAT", "VERSION", "Checkpoint", "Restored", "Snapshot", "StateError", "StoreError", "decode", "dumps",
           "encode", "loads", "open_store", "redact", "restore", "snapshot", "write"]
