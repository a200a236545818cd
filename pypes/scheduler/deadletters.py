"""DeadLetters: documents a component failed on, when its error port is not wired."""

from __future__ import annotations

import builtins
import itertools
import threading
import time
from collections import deque
from typing import Any

from pypes.packet import Packet


class DeadLetters:
    """A bounded store of failed documents (oldest dropped first), with the reason."""

    def __init__(self, limit: int = 10_000) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=limit)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.dropped = 0

    def add(self, component_id: str, packet: Packet, error: str) -> None:
        item = {
            "id": next(self._ids),
            "component": component_id,
            "error": error,
            "time": time.time(),
            "document": packet.data if packet.raw is None else None,
            "raw": None if packet.raw is None else packet.raw[:4096].decode("utf-8", "replace"),
            "packet": packet,
        }
        with self._lock:
            if len(self._items) == self._items.maxlen:
                self.dropped += 1
            self._items.append(item)

    def list(self, limit: int = 100) -> builtins.list[dict[str, Any]]:
        with self._lock:
            items = list(self._items)[-limit:]
        return [{k: v for k, v in item.items() if k != "packet"} for item in items]

    def take(self) -> builtins.list[Packet]:
        """Remove and return every stored packet (to send them in again)."""
        with self._lock:
            packets = [item["packet"] for item in self._items]
            self._items.clear()
        return packets

    def clear(self) -> int:
        with self._lock:
            n = len(self._items)
            self._items.clear()
        return n

    def __len__(self) -> int:
        return len(self._items)
