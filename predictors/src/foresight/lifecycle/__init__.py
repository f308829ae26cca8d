"""Model lifecycle (beside the data path): the one safe serialised form of Foresight
state (`codec`: typed JSON, never pickle), checkpoints of it (`checkpoints`) in a state
store (`stores`: a SQLite file or PostgreSQL), model bundles (`bundles`: one predictor's
trained state, checked whole before use) and the MLflow registry they are versioned in
(`registry`), and the drift detectors that watch a champion's live track record (`drift`:
Page-Hinkley). Shadow mode and the live scorecard are in runtime (shadow, scorecard);
see docs/lifecycle.md."""
from .bundles import Bundle, BundleError, read_bundle, read_manifest, write_bundle
from .checkpoints import Restored, Snapshot, restore, restore_partitions, snapshot, write, write_partitions
from .codec import FORMAT, VERSION, StateError, decode, dumps, encode, loads
from .drift import DriftSettings, DriftWatch, PageHinkley
from .registry import CHALLENGER, CHAMPION, Registry, RegistryError, Version
from .stores import Checkpoint, StoreError, open_store, redact

__all__ = ["CHALLENGER", "CHAMPION", "FORMAT", "VERSION", "Bundle", "BundleError", "Checkpoint", "DriftSettings",
           "DriftWatch", "PageHinkley", "Registry",
           "RegistryError", "Restored", "Snapshot", "StateError", "StoreError", "Version", "decode", "dumps", "encode",
           "loads", "open_store", "read_bundle", "read_manifest", "redact", "restore", "restore_partitions",
           "snapshot", "write", "write_bundle", "write_partitions"]
