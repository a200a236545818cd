"""The engine's input channel: jobs put from any thread, taken in order by the engine
thread, with the entry queue's limits that turn a slow graph into 429s.

A job carries the documents it will feed (``packets``) and the body bytes they came in
(``size``); both count against the limits from the moment the job is put until it has
run. Jobs without documents (graph changes, triggers) never wait behind documents.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from pypes.errors import Overloaded


@dataclass
class Job:
    future: Future[Any]
    run: Callable[[], Any]
    packets: int = 0
    size: int = 0


class Channel:
    """Jobs waiting for the engine thread, and what they hold against the limits."""

    def __init__(self, queue_limit: int, queue_bytes: int | None = None) -> None:
        self.queue_limit = queue_limit
        self.queue_bytes = queue_bytes
        self.queued = 0  # documents put and not yet run
        self.queued_bytes = 0
        self._jobs: deque[Job] = deque()
        self._lock = threading.Lock()

    def check_room(self, packets: int, size: int) -> None:
        """Raise ``Overloaded`` when the entry queue cannot take ``packets`` more documents
        in ``size`` bytes (a job without documents always fits)."""
        if packets and self.queued + packets > self.queue_limit:
            raise Overloaded(
                f"the entry queue is full ({self.queued} of {self.queue_limit} documents)",
                retry_after=1,
            )
        limit = self.queue_bytes
        if packets and limit is not None and self.queued_bytes and \
                self.queued_bytes + size > limit:
            raise Overloaded(
                f"the entry queue is full ({self.queued_bytes} of {limit} bytes)", retry_after=1
            )

    def put(self, job: Job, check: bool = True) -> None:
        """Queue ``job``; with ``check``, refuse it (``Overloaded``) when it does not fit."""
        with self._lock:
            if check:
                self.check_room(job.packets, job.size)
            self.queued += job.packets
            self.queued_bytes += job.size
            self._jobs.append(job)

    def take(self, entry_full: Callable[[], bool]) -> Job | None:
        """The next job. Documents stay here (counted against the limits) while
        ``entry_full()`` says the entry Adapters already hold a wire's worth, so the inboxes
        stay bounded; other jobs go ahead of them."""
        with self._lock:
            jobs = self._jobs
            if not jobs:
                return None
            if not jobs[0].packets or not entry_full():
                return jobs.popleft()
            for n, job in enumerate(jobs):
                if not job.packets:
                    del jobs[n]
                    return job
            return None

    def ran(self, job: Job) -> None:
        """``job`` has run: its documents no longer count against the limits."""
        with self._lock:
            self.queued -= job.packets
            self.queued_bytes -= job.size

    def close(self) -> list[Job]:
        """Remove and return every job still waiting."""
        with self._lock:
            jobs, self._jobs = list(self._jobs), deque()
        return jobs
