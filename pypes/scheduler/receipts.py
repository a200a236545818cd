"""Receipts: what each ingest request is told, and what a waiting request gets back.

A request with ``wait=True`` is *watched*: the documents of its batch that reach a
``Collect`` go into its receipt instead of the sink, failures are counted and listed, and
it is answered once the graph has nothing in flight. A request with an idempotency key is
answered again from its first receipt, so a re-sent batch is not run twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from pypes.packet import Packet


@dataclass
class Receipt:
    """What ``/docs`` answers: how many documents were taken and, when waited for, what
    came of them."""

    batch: str
    accepted: int
    processed: int = 0
    errors: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    # documents that failed without an error port to go to: component, error, document
    failed: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False


class Receipts:
    """Watched batches, requests waiting for them, and receipts kept by idempotency key.
    ``repeated`` is called from any thread; the rest from the engine thread."""

    def __init__(self, keep_keys: int = 10_000) -> None:
        self.keep_keys = keep_keys  # receipts kept to answer a repeated key
        self._watched: dict[Any, Receipt] = {}
        self._waiting: list[tuple[Receipt, Future[Receipt]]] = []
        self._keys: OrderedDict[str, Receipt] = OrderedDict()
        self._lock = threading.Lock()

    def repeated(self, key: str) -> Receipt | None:
        """The first receipt for ``key``, marked as a duplicate, if the key was seen."""
        with self._lock:
            seen = self._keys.get(key)
        return None if seen is None else replace(seen, duplicate=True)

    def remember(self, key: str, receipt: Receipt) -> None:
        with self._lock:
            self._keys[key] = receipt
            while len(self._keys) > self.keep_keys:
                self._keys.popitem(last=False)

    def watch(self, receipt: Receipt) -> None:
        """Collect the results and failures of ``receipt``'s batch from now on."""
        self._watched[receipt.batch] = receipt

    def wait(self, receipt: Receipt, future: Future[Receipt]) -> None:
        """Resolve ``future`` with ``receipt`` at the next ``answer``."""
        self._waiting.append((receipt, future))

    @property
    def waiting(self) -> bool:
        return bool(self._waiting)

    def answer(self) -> None:
        """Answer every waiting request (call when nothing is in flight)."""
        waiting, self._waiting = self._waiting, []
        for receipt, future in waiting:
            self._watched.pop(receipt.batch, None)
            future.set_result(receipt)

    def failed(self, component_id: str, packet: Packet, error: str, dead: bool) -> None:
        receipt = self._watched.get(packet.batch)
        if receipt is not None:
            receipt.errors += 1
            if dead:
                receipt.failed.append({"component": component_id, "error": error,
                                       "document": packet.data})

    def claim(self, packets: list[Packet]) -> list[Packet]:
        """Give watched batches their results; return the packets nobody waits for."""
        watched = self._watched
        if not watched:
            return packets
        if len(watched) == 1:  # the common case: one request waiting
            ((batch, receipt),) = watched.items()
            mine = [p.data for p in packets if p.batch == batch]
            receipt.results.extend(mine)
            if len(mine) == len(packets):
                return []
            return [p for p in packets if p.batch != batch]
        unclaimed: list[Packet] = []
        for packet in packets:
            owner = watched.get(packet.batch)
            if owner is None:
                unclaimed.append(packet)
            else:
                owner.results.append(packet.data)
        return unclaimed
