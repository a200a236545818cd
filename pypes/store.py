"""GraphStore: the graph of a server, kept as JSON in its config directory.

Every write goes to a temporary file in the same directory and is renamed over the old
one, so a crash leaves either the old graph or the new one, never half of either.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from pypes.graph import Graph


class GraphStore:
    """Reads and atomically writes ``graph.json`` in a directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) last loaded or saved

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock shared by every process using this store."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load_if_changed(self) -> Graph | None:
        """The stored graph if the file changed since this store last read or wrote it."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return None
        graph = self.load()
        self._seen = (stat.st_mtime_ns, stat.st_size)
        return graph

    def load(self) -> Graph | None:
        """The stored graph, or None when there is none yet."""
        if not self.path.exists():
            return None
        return Graph.load(self.path.read_bytes())

    def save(self, graph: Graph) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(graph.dump(), option=orjson.OPT_INDENT_2)
        fd, tmp = tempfile.mkstemp(prefix=".graph-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            stat = self.path.stat()
            self._seen = (stat.st_mtime_ns, stat.st_size)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
