"""Journal: the write-ahead log behind ``pypes serve --durable``.

Every batch ``/docs`` accepts is written here, in one SQLite transaction, before the
answer leaves; it is deleted once the graph has finished with it. At start, whatever is
still here is replayed (at-least-once). SQLite in WAL mode gives atomic commits and a
torn-tail-proof log (each WAL frame is checksummed; a partial one is ignored on open);
every row also carries a CRC32 of its body, so a row damaged on disk is found, dropped
and reported instead of replayed as garbage. See docs/durability.md.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from pypes.errors import PypesError, Unavailable
from pypes.packet import Packet

log = logging.getLogger("pypes.journal")
SYNC_MODES = ("normal", "full")
SCHEMA = """CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    route TEXT,
    documents INTEGER NOT NULL,
    crc INTEGER NOT NULL,
    body BLOB NOT NULL
)"""


@dataclass
class Entry:
    """One accepted batch still in the journal."""

    id: int
    route: str | None
    packets: list[Packet]


@dataclass
class Recovery:
    """What opening the journal found wrong: each problem, and the records dropped."""

    dropped: int = 0
    problems: list[str] = field(default_factory=list)
    moved_to: Path | None = None


def encode(packets: list[Packet]) -> bytes:
    """The packets as one compressed blob: a JSON header line, then the raw bodies."""
    header = [[p.data, p.meta, -1 if p.raw is None else len(p.raw)] for p in packets]
    raws = b"".join(p.raw for p in packets if p.raw is not None)
    return zlib.compress(orjson.dumps(header, default=str) + b"\n" + raws, 1)


def decode(blob: bytes) -> list[Packet]:
    data = zlib.decompress(blob)
    head, _, raws = data.partition(b"\n")
    packets = []
    at = 0
    for doc, meta, size in orjson.loads(head):
        raw = None
        if size >= 0:
            raw, at = raws[at:at + size], at + size
        packets.append(Packet(doc, meta, raw))
    return packets


class Journal:
    """Accepted batches not yet finished, in ``path`` (an SQLite database in WAL mode).

    ``append`` runs on the web thread, ``done`` on the engine thread: one connection,
    guarded by a lock. ``sync="normal"`` survives a killed process; ``"full"`` also a
    power cut, at an fsync per batch. ``max_bytes`` caps the file (then ``append`` fails,
    as on a full disk).
    """

    def __init__(self, path: Path, *, sync: str = "normal", max_bytes: int | None = None) -> None:
        if sync not in SYNC_MODES:
            raise PypesError(f"journal sync must be one of {SYNC_MODES}, not {sync!r}")
        self.path = Path(path)
        self.sync = sync
        self.max_bytes = max_bytes
        self.recovery = Recovery()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = self._open_checked()
        except (sqlite3.Error, OSError) as exc:
            raise PypesError(f"cannot open the journal {self.path}: {exc}") from None

    # opening and repair

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.sync.upper()}")
        db.execute(SCHEMA)
        if self.max_bytes is not None:
            page = db.execute("PRAGMA page_size").fetchone()[0]
            db.execute(f"PRAGMA max_page_count={max(8, self.max_bytes // page)}")
        return db

    def _open_checked(self) -> sqlite3.Connection:
        problem = None
        try:
            db = self._connect(self.path)
            verdict = [row[0] for row in db.execute("PRAGMA integrity_check(20)")]
            if verdict == ["ok"]:
                return db
            db.close()
            problem = "; ".join(verdict)
        except sqlite3.OperationalError:
            raise  # cannot open or read it at all (permissions, I/O): not ours to repair
        except sqlite3.DatabaseError as exc:  # not a database, or a malformed one
            problem = str(exc)
        return self._salvage(problem)

    def _salvage(self, problem: str) -> sqlite3.Connection:
        """Move the damaged file aside, copy every readable, intact record into a new
        journal, and report what was lost."""
        moved = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(str(self.path) + suffix)
            if source.exists():
                shutil.move(source, Path(str(moved) + suffix))
        rows, unreadable = _readable_rows(moved)
        db = self._connect(self.path)
        kept = 0
        with _transaction(db):
            for row in rows:
                if _intact(row):
                    db.execute("INSERT INTO batches VALUES (?, ?, ?, ?, ?)", row)
                    kept += 1
        dropped = len(rows) - kept
        self.recovery = Recovery(dropped + unreadable,
                                 [f"the journal was damaged ({problem})"], moved)
        log.error("journal %s was damaged (%s): kept %d batch(es), dropped %d damaged "
                  "record(s); the damaged file is kept as %s",
                  self.path, problem, kept, dropped + unreadable, moved)
        return db

    # the write-ahead path

    def append(self, packets: list[Packet], route: str | None = None) -> int:
        """Write one batch (one transaction); its id. Raises ``Unavailable`` if it cannot."""
        body = encode(packets)
        try:
            with self._lock, _transaction(self._db):
                cursor = self._db.execute(
                    "INSERT INTO batches (route, documents, crc, body) VALUES (?, ?, ?, ?)",
                    (route, len(packets), zlib.crc32(body), body))
        except (sqlite3.Error, OSError) as exc:
            log.error("journal write failed: %s", exc)
            raise Unavailable(f"the journal cannot be written ({exc}); the documents were "
                              "not accepted", {"journal": str(self.path)}) from None
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def done(self, ids: Iterable[int]) -> None:
        """Forget finished batches (one transaction). A failure only means they will be
        replayed after a restart, so it is logged, not raised."""
        ids = list(ids)
        if not ids:
            return
        try:
            with self._lock, _transaction(self._db):
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    self._db.execute(
                        f"DELETE FROM batches WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        except (sqlite3.Error, OSError) as exc:
            log.error("journal: could not remove %d finished batch(es): %s", len(ids), exc)

    def pending(self) -> Iterator[Entry]:
        """Every batch still in the journal, oldest first; a damaged one is dropped and
        counted in ``recovery``."""
        with self._lock:
            ids = [row[0] for row in self._db.execute("SELECT id FROM batches ORDER BY id")]
        for batch_id in ids:
            with self._lock:
                row = self._db.execute("SELECT * FROM batches WHERE id = ?",
                                       (batch_id,)).fetchone()
            if row is None:
                continue
            try:
                if not _intact(row):
                    raise ValueError("checksum mismatch")
                packets = decode(row[4])
            except (ValueError, zlib.error, TypeError, orjson.JSONDecodeError) as exc:
                self.recovery.dropped += 1
                self.recovery.problems.append(f"batch {batch_id}: {exc}")
                log.error("journal: dropped damaged batch %d (%s)", batch_id, exc)
                self.done([batch_id])
                continue
            yield Entry(batch_id, row[1], packets)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM batches").fetchone()[0])

    def documents(self) -> int:
        """Documents in the batches still held."""
        with self._lock:
            return int(self._db.execute(
                "SELECT coalesce(sum(documents), 0) FROM batches").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK``) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if kind is None:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:
            self.db.execute("ROLLBACK")


def _intact(row: tuple[Any, ...]) -> bool:
    body = row[4]
    return isinstance(body, bytes) and zlib.crc32(body) == row[3]


def _readable_rows(path: Path) -> tuple[list[tuple[Any, ...]], int]:
    """The rows that can still be read from a damaged database, and how many reads failed."""
    rows: list[tuple[Any, ...]] = []
    failures = 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows, 1
    try:
        ids: set[int] = set()
        for order in ("ASC", "DESC"):  # from both ends, to get around a damaged page
            try:
                for (batch_id,) in db.execute(f"SELECT id FROM batches ORDER BY id {order}"):
                    if batch_id in ids:
                        break
                    ids.add(batch_id)
            except sqlite3.Error:
                failures = 1
        for batch_id in sorted(ids):
            try:
                row = db.execute("SELECT id, route, documents, crc, body FROM batches "
                                 "WHERE id = ?", (batch_id,)).fetchone()
            except sqlite3.Error:
                failures += 1
                continue
            if row is not None:
                rows.append(tuple(row))
    finally:
        db.close()
    return rows, failures
