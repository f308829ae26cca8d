"""State stores: where checkpoints live. A SQLite file by default; PostgreSQL for a
`postgresql://` URL (psycopg 3).

Both hold the same two tables. A checkpoint replaces all rows in one transaction, so a
reader sees the previous checkpoint or the new one, never a mix:

  foresight_checkpoint  one row: format version, event time, wall time written, meta (JSON)
  foresight_state       one row per (section, name, target): a state document (JSON text)

Replicas of one consumer group (PostgreSQL) keep their state per Kafka partition instead, so
a partition's state can move to another replica with the partition:

  foresight_partition        one row per (consumer group, partition): version, event time,
                             wall time written, and the Kafka offset the state holds up to
  foresight_partition_state  one row per (consumer group, partition, section, name, target)
  foresight_member           one row per (consumer group, replica): what it shares with the
                             others (its targets at risk and the calls it saw, JSON)
"""
import json
import logging
import re
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_TABLES = (
    """CREATE TABLE IF NOT EXISTS foresight_checkpoint (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state_version INTEGER NOT NULL,
        event_time DOUBLE PRECISION NOT NULL,
        written_at DOUBLE PRECISION NOT NULL,
        meta TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS foresight_state (
        section TEXT NOT NULL,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (section, name, target))""",
    """CREATE TABLE IF NOT EXISTS foresight_partition (
        consumer_group TEXT NOT NULL,
        partition TEXT NOT NULL,
        state_version INTEGER NOT NULL,
        event_time DOUBLE PRECISION NOT NULL,
        written_at DOUBLE PRECISION NOT NULL,
        next_offset BIGINT NOT NULL,
        PRIMARY KEY (consumer_group, partition))""",
    """CREATE TABLE IF NOT EXISTS foresight_partition_state (
        consumer_group TEXT NOT NULL,
        partition TEXT NOT NULL,
        section TEXT NOT NULL,
        name TEXT NOT NULL,
        target TEXT NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (consumer_group, partition, section, name, target))""",
    """CREATE TABLE IF NOT EXISTS foresight_member (
        consumer_group TEXT NOT NULL,
        member TEXT NOT NULL,
        written_at DOUBLE PRECISION NOT NULL,
        document TEXT NOT NULL,
        PRIMARY KEY (consumer_group, member))""",
)


class StoreError(Exception):
    """The state store cannot be opened, read or written; names the store."""


@dataclass
class Checkpoint:
    state_version: int
    event_time: float
    written_at: float
    meta: dict
    rows: list = field(default_factory=list)  # (section, name, target text, document text)


@dataclass
class PartitionCheckpoint:
    state_version: int
    event_time: float
    written_at: float
    next_offset: int  # the Kafka offset of the partition's first message the state does not hold
    rows: list = field(default_factory=list)  # (section, name, target text, document text)


def redact(location: str) -> str:
    """The location without a password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", location)


class _Store:
    location = ""
    # Placeholders differ: sqlite3 takes ?, psycopg %s.
    _upsert = ""
    _insert = ""

    def __init__(self):
        self._lock = threading.Lock()  # the restore runs on the main thread, writes on the writer's

    def _connect(self):
        raise NotImplementedError

    def write(self, checkpoint: Checkpoint):
        started = time.monotonic()
        with self._lock:
            try:
                self._write(checkpoint)
            except self._errors() as exc:
                self._reset()
                raise StoreError(f"state store {redact(self.location)}: cannot write a checkpoint: {exc}") from None
        log.debug("checkpoint of %d rows written to %s in %.2fs", len(checkpoint.rows), redact(self.location),
                  time.monotonic() - started)

    def read(self) -> Checkpoint | None:
        """The latest checkpoint, or None when the store holds none."""
        with self._lock:
            try:
                return self._read()
            except self._errors() as exc:
                self._reset()
                raise StoreError(f"state store {redact(self.location)}: cannot read: {exc}") from None

    def _write(self, checkpoint: Checkpoint):
        conn = self._connection()
        with self._transaction(conn) as cur:
            cur.execute("DELETE FROM foresight_state")
            cur.executemany(self._insert, checkpoint.rows)
            cur.execute(self._upsert, (checkpoint.state_version, checkpoint.event_time, checkpoint.written_at,
                                       json.dumps(checkpoint.meta)))

    def _read(self) -> Checkpoint | None:
        conn = self._connection()
        with self._transaction(conn) as cur:
            cur.execute("SELECT state_version, event_time, written_at, meta FROM foresight_checkpoint WHERE id = 1")
            head = cur.fetchone()
            if head is None:
                return None
            cur.execute("SELECT section, name, target, document FROM foresight_state")
            rows = [tuple(r) for r in cur.fetchall()]
        try:
            meta = json.loads(head[3])
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise StoreError(f"state store {redact(self.location)}: the checkpoint's meta is not a JSON object")
        return Checkpoint(int(head[0]), float(head[1]), float(head[2]), meta, rows)

    def write_partitions(self, group: str, partitions: list):
        """Replace the state of each partition in one transaction: `partitions` holds
        (partition, PartitionCheckpoint)."""
        with self._lock:
            try:
                conn = self._connection()
                p = self._placeholder
                with self._transaction(conn) as cur:
                    for partition, checkpoint in partitions:
                        cur.execute(f"DELETE FROM foresight_partition_state WHERE consumer_group = {p} "
                                    f"AND partition = {p}", (group, partition))
                        cur.executemany(
                            "INSERT INTO foresight_partition_state (consumer_group, partition, section, name, "
                            f"target, document) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                            [(group, partition, *row) for row in checkpoint.rows])
                        cur.execute(f"DELETE FROM foresight_partition WHERE consumer_group = {p} AND partition = {p}",
                                    (group, partition))
                        cur.execute("INSERT INTO foresight_partition (consumer_group, partition, state_version, "
                                    f"event_time, written_at, next_offset) VALUES ({p}, {p}, {p}, {p}, {p}, {p})",
                                    (group, partition, checkpoint.state_version, checkpoint.event_time,
                                     checkpoint.written_at, checkpoint.next_offset))
            except self._errors() as exc:
                self._reset()
                raise StoreError(f"state store {redact(self.location)}: cannot write partition state: {exc}") from None

    def read_partitions(self, group: str, partitions) -> dict:
        """partition -> PartitionCheckpoint, for those of `partitions` the store holds."""
        out = {}
        with self._lock:
            try:
                conn = self._connection()
                p = self._placeholder
                with self._transaction(conn) as cur:
                    for partition in partitions:
                        cur.execute("SELECT state_version, event_time, written_at, next_offset FROM foresight_partition "
                                    f"WHERE consumer_group = {p} AND partition = {p}", (group, partition))
                        head = cur.fetchone()
                        if head is None:
                            continue
                        cur.execute("SELECT section, name, target, document FROM foresight_partition_state "
                                    f"WHERE consumer_group = {p} AND partition = {p}", (group, partition))
                        out[partition] = PartitionCheckpoint(int(head[0]), float(head[1]), float(head[2]),
                                                             int(head[3]), [tuple(r) for r in cur.fetchall()])
            except self._errors() as exc:
                self._reset()
                raise StoreError(f"state store {redact(self.location)}: cannot read partition state: {exc}") from None
        return out

    def exchange(self, group: str, member: str, document: str, since: float) -> list:
        """Write this replica's row and read the other replicas' rows written since `since`
        (wall time): [(member, document)]. An empty document deletes the row."""
        p = self._placeholder
        with self._lock:
            try:
                with self._transaction(self._connection()) as cur:
                    cur.execute(f"DELETE FROM foresight_member WHERE consumer_group = {p} AND member = {p}",
                                (group, member))
                    if document:
                        cur.execute("INSERT INTO foresight_member (consumer_group, member, written_at, document) "
                                    f"VALUES ({p}, {p}, {p}, {p})", (group, member, time.time(), document))
                    cur.execute("SELECT member, document FROM foresight_member WHERE consumer_group = "
                                f"{p} AND member <> {p} AND written_at >= {p}", (group, member, since))
                    return [tuple(row) for row in cur.fetchall()]
            except self._errors() as exc:
                self._reset()
                raise StoreError(f"state store {redact(self.location)}: cannot exchange with the other replicas: "
                                 f"{exc}") from None

    def close(self):
        with self._lock:
            self._reset()


class SQLiteStore(_Store):
    _placeholder = "?"
    _insert = "INSERT INTO foresight_state (section, name, target, document) VALUES (?, ?, ?, ?)"
    _upsert = ("INSERT INTO foresight_checkpoint (id, state_version, event_time, written_at, meta) "
               "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET state_version = excluded.state_version, "
               "event_time = excluded.event_time, written_at = excluded.written_at, meta = excluded.meta")

    def __init__(self, path: str):
        super().__init__()
        self.location = str(path)
        self._conn = None

    @staticmethod
    def _errors():
        return (sqlite3.Error,)

    def _connection(self):
        if self._conn is None:
            parent = Path(self.location).parent
            if not parent.is_dir():
                raise sqlite3.OperationalError(f"the folder {parent} does not exist")
            self._conn = sqlite3.connect(self.location, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            for statement in _TABLES:
                self._conn.execute(statement)
        return self._conn

    def _transaction(self, conn):
        return _SQLiteTransaction(conn)

    def _reset(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _SQLiteTransaction:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.cur = self.conn.cursor()
        self.cur.execute("BEGIN IMMEDIATE")
        return self.cur

    def __exit__(self, kind, exc, tb):
        self.cur.execute("COMMIT" if kind is None else "ROLLBACK")
        self.cur.close()
        return False


class PostgresStore(_Store):
    _placeholder = "%s"
    _insert = "INSERT INTO foresight_state (section, name, target, document) VALUES (%s, %s, %s, %s)"
    _upsert = ("INSERT INTO foresight_checkpoint (id, state_version, event_time, written_at, meta) "
               "VALUES (1, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET state_version = EXCLUDED.state_version, "
               "event_time = EXCLUDED.event_time, written_at = EXCLUDED.written_at, meta = EXCLUDED.meta")

    def __init__(self, url: str, connect_timeout: float = 10.0):
        super().__init__()
        import psycopg  # only a PostgreSQL store needs the driver

        self._psycopg = psycopg
        self.location, self.connect_timeout = url, connect_timeout
        self._conn = None

    def _errors(self):
        return (self._psycopg.Error,)

    def _connection(self):
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self.location, autocommit=True,
                                                connect_timeout=int(self.connect_timeout))
            with self._conn.transaction():
                for statement in _TABLES:
                    self._conn.execute(statement)
        return self._conn

    def _transaction(self, conn):
        return _PostgresTransaction(conn)

    def _reset(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _PostgresTransaction:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.tx = self.conn.transaction()
        self.tx.__enter__()
        self.cur = self.conn.cursor()
        return self.cur

    def __exit__(self, kind, exc, tb):
        self.cur.close()
        return self.tx.__exit__(kind, exc, tb)


def open_store(location: str) -> _Store:
    """The store at `location`: a postgresql:// (or postgres://) URL, else a SQLite file path."""
    if not location:
        raise StoreError("no state store given")
    if location.startswith(("postgresql://", "postgres://")):
        return PostgresStore(location)
    return SQLiteStore(location)


__all__ = ["Checkpoint", "PartitionCheckpoint", "PostgresStore", "SQLiteStore", "StoreError", "open_store", "redact"]
