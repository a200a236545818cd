"""GraphStore: the graph of a server, kept as JSON in its config directory.

Every write goes to a temporary file in the same directory and is renamed over the old
one, so a crash leaves either the old graph or the new one, never half of either.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import orjson

from pypes.graph import Graph


class GraphStore:
    """Reads and atomically writes ``graph.json`` in a directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

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
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
