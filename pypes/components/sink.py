"""ResultSink: the documents a Collect publisher holds, read by cursor and acknowledged.

Each document gets an increasing sequence number. A reader asks for what comes after
its cursor (optionally waiting for more), and acknowledges up to a cursor to free the
space; a full sink stops taking documents, which backs the graph up instead of losing them.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any


class ResultSink:
    """A bounded, cursor-addressed buffer of documents, safe to use from two threads.

    Documents are kept in chunks as they arrived (one list per pass), so taking in and
    acknowledging a batch costs one step, not one per document.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._chunks: deque[tuple[int, list[Any]]] = deque()  # (seq of first doc, docs)
        self._held = 0
        self._last = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def cursor(self) -> int:
        """The sequence number of the newest document."""
        return self._last

    def room(self) -> int:
        return self.limit - self._held

    def extend(self, documents: list[Any]) -> None:
        if not documents:
            return
        with self._lock:
            self._chunks.append((self._last + 1, documents))
            self._last += len(documents)
            self._held += len(documents)
            listeners, self._listeners = self._listeners, []
        for notify in listeners:
            notify()

    def read(self, after: int = 0, limit: int = 1000) -> tuple[list[Any], int, bool]:
        """Documents after ``after`` (at most ``limit``), the cursor of the last one
        returned, and whether more are waiting."""
        page: list[Any] = []
        with self._lock:
            first_held = self._chunks[0][0] if self._chunks else self._last + 1
            start = max(after + 1, first_held)
            for first, docs in self._chunks:
                end = first + len(docs)  # one past the chunk's last seq
                if end <= start:
                    continue
                page.extend(docs[max(0, start - first):max(0, start - first) + limit - len(page)])
                if len(page) >= limit:
                    break
            cursor = start - 1 + len(page) if page else max(after, first_held - 1)
            more = cursor < self._last
        return page, cursor, more

    async def read_wait(self, after: int, limit: int, wait: float) -> tuple[list[Any], int, bool]:
        """As ``read``, but wait up to ``wait`` seconds for a document when there is none."""
        docs, cursor, more = self.read(after, limit)
        if docs or wait <= 0:
            return docs, cursor, more
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()
        def notify() -> None:
            loop.call_soon_threadsafe(arrived.set)

        with self._lock:
            self._listeners.append(notify)
        if self._last > after:
            arrived.set()
        try:
            await asyncio.wait_for(arrived.wait(), wait)
        except TimeoutError:
            pass
        return self.read(after, limit)

    def ack(self, upto: int) -> int:
        """Forget every document up to and including ``upto``; return how many."""
        n = 0
        with self._lock:
            while self._chunks:
                first, docs = self._chunks[0]
                if first > upto:
                    break
                if first + len(docs) - 1 <= upto:
                    self._chunks.popleft()
                    n += len(docs)
                else:
                    keep = docs[upto - first + 1:]
                    n += len(docs) - len(keep)
                    self._chunks[0] = (upto + 1, keep)
                    break
            self._held -= n
        return n

    def __len__(self) -> int:
        return self._held
