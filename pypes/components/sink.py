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
    """A bounded, cursor-addressed buffer of documents, safe to use from two threads."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._items: deque[tuple[int, Any]] = deque()
        self._last = 0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @property
    def cursor(self) -> int:
        """The sequence number of the newest document."""
        return self._last

    def room(self) -> int:
        return self.limit - len(self._items)

    def extend(self, documents: list[Any]) -> None:
        with self._lock:
            for doc in documents:
                self._last += 1
                self._items.append((self._last, doc))
            listeners, self._listeners = self._listeners, []
        for notify in listeners:
            notify()

    def read(self, after: int = 0, limit: int = 1000) -> tuple[list[Any], int, bool]:
        """Documents after ``after`` (at most ``limit``), the cursor of the last one
        returned, and whether more are waiting."""
        with self._lock:
            items = [item for item in self._items if item[0] > after]
        page = items[:limit]
        cursor = page[-1][0] if page else max(after, self._first_seq() - 1)
        return [doc for _, doc in page], cursor, len(items) > limit

    async def read_wait(self, after: int, limit: int, wait: float) -> tuple[list[Any], int, bool]:
        """As ``read``, but wait up to ``wait`` seconds for a document when there is none."""
        docs, cursor, more = self.read(after, limit)
        if docs or wait <= 0:
            return docs, cursor, more
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()
        with self._lock:
            self._listeners.append(lambda: loop.call_soon_threadsafe(arrived.set))
        if self._last > after:
            arrived.set()
        try:
            await asyncio.wait_for(arrived.wait(), wait)
        except TimeoutError:
            pass
        return self.read(after, limit)

    def ack(self, upto: int) -> int:
        """Forget every document up to and including ``upto``; return how many."""
        with self._lock:
            n = 0
            while self._items and self._items[0][0] <= upto:
                self._items.popleft()
                n += 1
        return n

    def __len__(self) -> int:
        return len(self._items)

    def _first_seq(self) -> int:
        return self._items[0][0] if self._items else self._last + 1
