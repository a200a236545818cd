"""The master's side of the worker protocol, without I/O: batches, acks, re-sends, dedup.

``Ledger`` holds every document a composite has accepted until its results are back:

* ``add`` buffers documents (``waiting``); ``cut`` turns them into batches when a batch
  is full, when the documents of the next ingest batch start behind it (a batch never
  mixes two ingest batches, so results can be attributed to the request that waits for
  them), or when the oldest has waited ``linger`` seconds;
* ``next_for(worker)`` hands a worker the next batch (re-sends first) and records it as
  unacknowledged for that worker;
* ``done(key)`` acknowledges a batch when its answer arrives; an answer for a key that is
  not outstanding (a re-sent batch answered twice) returns ``None``: the duplicate;
* ``lost(worker)`` puts a dead worker's unacknowledged batches back at the front of the
  queue, for a live worker; one that has been tried ``max_attempts`` times is given up.

``encode_batch`` and ``decode_answer`` are the wire format (a JSON array, gzip; the JSON
answer of ``POST /docs?wait=true&delta=true``). Anything malformed raises
``ProtocolError``. With ``delta=true`` the worker answers a posted document that its graph
changed in place as the change alone (``changes``); ``delivered`` applies the changes to
the documents the master kept, so a large document crosses the wire once, not twice.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pypes.compression import gzip_compress
from pypes.packet import Packet

GZIP_LEVEL = 1  # on loopback and LANs speed beats the last few percent of size


class ProtocolError(Exception):
    """A worker's answer that does not follow the protocol."""


@dataclass(eq=False)
class Batch:
    """Documents sent to a worker as one ``POST /docs``, kept until answered."""

    key: str  # the Idempotency-Key
    packets: list[Packet]
    ingest: Any  # the ingest batch of its documents (results and failures belong to it)
    attempts: int = 0
    worker: str | None = None
    body: bytes | None = None  # the encoded request, kept for re-sends
    headers: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.packets)


@dataclass
class Answer:
    """What a worker said about one batch."""

    results: list[dict[str, Any]]
    errors: int = 0
    duplicate: bool = False
    failed: list[dict[str, Any]] = field(default_factory=list)  # component, error, document


@dataclass
class Ledger:
    """Documents waiting, batches queued, and batches unacknowledged per worker."""

    batch_size: int = 1000
    linger: float = 0.05
    max_attempts: int = 3
    prefix: str = field(default_factory=lambda: secrets.token_hex(4))

    def __post_init__(self) -> None:
        self._waiting: deque[Packet] = deque()
        self._since: float | None = None  # when the oldest waiting document arrived
        self._queued: deque[Batch] = deque()  # cut, not sent (re-sends at the front)
        self._sent: dict[str, dict[str, Batch]] = {}  # worker -> key -> batch
        self._numbers = itertools.count(1)
        self._waiting_docs = 0
        self._sent_docs = 0

    # counts (documents): kept as integers, so other threads can read them (/stats)

    @property
    def waiting(self) -> int:
        """Documents not yet handed to a worker (buffered or in queued batches)."""
        return self._waiting_docs

    def in_flight(self, worker: str | None = None) -> int:
        """Documents in unacknowledged batches (of one worker, or of all)."""
        if worker is None:
            return self._sent_docs
        return sum(len(b) for b in list(self._sent.get(worker, {}).values()))

    def batches(self) -> set[Any]:
        """The ingest batches of every document not yet answered."""
        held = {p.batch for p in self._waiting}
        for batch in [*self._queued, *(b for s in self._sent.values() for b in s.values())]:
            held.add(batch.ingest)
        return held

    def unacknowledged(self, worker: str) -> list[str]:
        return list(self._sent.get(worker, {}))

    def __len__(self) -> int:
        return self._waiting_docs + self._sent_docs

    # the flow

    def add(self, packets: Iterable[Packet], now: float) -> None:
        before = len(self._waiting)
        self._waiting.extend(packets)
        self._waiting_docs += len(self._waiting) - before
        if not before and self._waiting:
            self._since = now

    def due(self) -> float | None:
        """When the oldest waiting document's linger runs out (``None``: nothing waits)."""
        return None if self._since is None or not self._waiting else self._since + self.linger

    def cut(self, now: float, flush: bool = False) -> int:
        """Turn waiting documents into queued batches; return how many batches."""
        made = 0
        waiting = self._waiting
        while waiting:
            group = waiting[0].batch
            n = 0
            for packet in waiting:
                if n == self.batch_size or packet.batch != group:
                    break
                n += 1
            sealed = n == self.batch_size or n < len(waiting)
            if not (sealed or flush or (self._since is not None and now >= self._since
                                        + self.linger)):
                break
            packets = [waiting.popleft() for _ in range(n)]  # still counted as waiting
            self._queued.append(Batch(f"{self.prefix}-{next(self._numbers)}", packets, group))
            made += 1
            self._since = now if waiting else None
        return made

    def next_for(self, worker: str) -> Batch | None:
        """The next batch for ``worker``, now unacknowledged by it; ``None`` when none."""
        if not self._queued:
            return None
        batch = self._queued.popleft()
        self._waiting_docs -= len(batch)
        self._sent_docs += len(batch)
        batch.worker = worker
        batch.attempts += 1
        self._sent.setdefault(worker, {})[batch.key] = batch
        return batch

    def done(self, key: str) -> Batch | None:
        """Acknowledge batch ``key``; ``None`` if it is not outstanding (a duplicate)."""
        for sent in self._sent.values():
            batch = sent.pop(key, None)
            if batch is not None:
                self._sent_docs -= len(batch)
                return batch
        return None

    def lost(self, worker: str) -> list[Batch]:
        """Queue a lost worker's unacknowledged batches again; return those given up
        after ``max_attempts`` (the caller fails their documents)."""
        sent = self._sent.pop(worker, {})
        self._sent_docs -= sum(len(b) for b in sent.values())
        again = [b for b in sent.values() if b.attempts < self.max_attempts]
        for batch in reversed(again):
            batch.worker = None
            self._queued.appendleft(batch)
            self._waiting_docs += len(batch)
        return [b for b in sent.values() if b.attempts >= self.max_attempts]

    def take_unsent(self) -> list[Packet]:
        """Remove and return every document not yet handed to a worker."""
        packets = [p for b in self._queued for p in b.packets] + list(self._waiting)
        self._queued.clear()
        self._waiting.clear()
        self._waiting_docs = 0
        self._since = None
        return packets

    def clear(self) -> list[Packet]:
        """Forget everything; return every document not yet answered, oldest first."""
        packets = [p for g in self._sent.values() for b in g.values() for p in b.packets]
        self._sent.clear()
        self._sent_docs = 0
        return packets + self.take_unsent()


def encode_batch(batch: Batch, compress: bool = True) -> tuple[bytes, dict[str, str]]:
    """The body and headers of ``POST /docs?wait=true`` for ``batch``: a JSON array (one
    ``orjson.dumps`` call is ~40x faster than one per NDJSON line), gzip-compressed."""
    body = orjson.dumps([p.data for p in batch.packets])
    headers = {"Content-Type": "application/json", "Idempotency-Key": batch.key}
    if compress:
        body = gzip_compress(body, GZIP_LEVEL)
        headers["Content-Encoding"] = "gzip"
    return body, headers


def decode_answer(body: bytes, posted: int) -> Answer:
    """The answer of ``POST /docs?wait=true&delta=true`` to a batch of ``posted``
    documents: ``{"results": [...], "errors": n, ...}``, each result a document or a change
    ``[index, set, unset]`` to posted document ``index`` (each index at most once)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"the worker's answer is not JSON: {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("results"), list):
        raise ProtocolError("the worker's answer has no 'results' list")
    results = value["results"]
    if not set(map(type, results)) <= {dict}:
        _check_changes(results, posted)
    errors = value.get("errors", 0)
    failed = [f for f in value.get("failed") or [] if isinstance(f, dict)
              and isinstance(f.get("document"), dict)]
    return Answer(results, errors if isinstance(errors, int) else 0,
                  bool(value.get("duplicate", False)), failed)


def _check_changes(results: list[Any], posted: int) -> None:
    seen: set[int] = set()
    for item in results:
        if isinstance(item, dict):
            continue
        if not (isinstance(item, list) and len(item) == 3 and type(item[0]) is int
                and isinstance(item[1], dict) and isinstance(item[2], list)
                and all(isinstance(k, str) for k in item[2])):
            raise ProtocolError("a worker's result is neither a document nor a change "
                                "[index, set, unset]")
        if not 0 <= item[0] < posted or item[0] in seen:
            raise ProtocolError(f"a worker's change names posted document {item[0]}, "
                                f"which is out of range or already answered")
        seen.add(item[0])


_GONE = object()


def changes(posted: list[dict[str, Any]], before: list[dict[str, Any]],
            results: list[dict[str, Any]]) -> list[Any]:
    """The worker's side of ``delta=true``: ``results`` with each posted document (the very
    object, first time only) replaced by ``[index, set, unset]`` against ``before``, its
    shallow copy taken when it was posted. A string or number the graph left alone is the
    object that was posted, so identity finds it; a list or object may have been changed in
    place, so it is always sent."""
    index = {id(doc): n for n, doc in enumerate(posted)}
    answer: list[Any] = []
    for doc in results:
        n = index.pop(id(doc), None)
        if n is None:
            answer.append(doc)
            continue
        old = before[n]
        changed = {key: value for key, value in doc.items()
                   if old.get(key, _GONE) is not value or value.__class__ in (dict, list)}
        removed = [key for key in old if key not in doc]
        answer.append([n, changed, removed])
    return answer


def delivered(batch: Batch, results: list[Any]) -> list[Packet]:
    """The master's side: result packets for a batch's answer. A change is applied to the
    posted packet itself (which keeps its metadata); a whole document gets a new packet
    in the batch's ingest batch."""
    packets = []
    for item in results:
        if item.__class__ is dict:
            packets.append(Packet(item, None, None, batch.ingest))
            continue
        n, changed, removed = item
        packet = batch.packets[n]
        data = packet.data
        data.update(changed)
        for key in removed:
            data.pop(key, None)
        packets.append(packet)
    return packets


def error_message(status: int, body: bytes) -> str:
    """A worker's error answer (``{"error", "detail"}``) as one line for users."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return f"HTTP {status}: {text[:300]}" if text else f"HTTP {status}"
    if isinstance(value, dict) and value.get("error"):
        detail = value.get("detail")
        if isinstance(detail, list) and detail and all(isinstance(d, str) for d in detail):
            return "; ".join(detail)
        return str(value["error"])
    return f"HTTP {status}"
