"""Engine: runs one graph on its own thread and asyncio loop, driven from any thread.

The engine thread is the scheduler tasklet of the 2010 design: it waits on its input
channel, and for each item (a batch of documents, a trigger, a graph change) runs passes
until no packet moves. Doing that on a thread of its own keeps the web server answering
(``/health`` included) while a long pass runs. Every call that changes the graph goes
through ``change``: it validates, bumps ``rev``, persists atomically, then applies, between
two batches, so documents in flight finish on the graph they entered.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pypes.component import DEFAULT_WIRE_CAPACITY, Component, Context
from pypes.errors import NotFound, PypesError, StaleRevision
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler.assembly import assemble, close
from pypes.scheduler.channel import Channel, Job
from pypes.scheduler.core import Scheduler
from pypes.scheduler.deadletters import DeadLetters
from pypes.scheduler.receipts import Receipt, Receipts
from pypes.store import GraphStore

log = logging.getLogger("pypes.engine")
_LATER = object()  # a job's value when it resolves its own future later
RETIRE_INTERVAL = 0.2  # seconds between looks for finished journal batches


class Engine:
    """Owns the running graph. Thread-safe methods return ``concurrent.futures.Future``s."""

    def __init__(
        self,
        registry: Any,
        *,
        data_dir: Path | None = None,
        store: GraphStore | None = None,
        wire_capacity: int = DEFAULT_WIRE_CAPACITY,
        queue_limit: int = 100_000,
        dead_letter_limit: int = 10_000,
        services: dict[str, Any] | None = None,
        journal: Any = None,
        queue_bytes: int | None = None,
        stall_seconds: float = 10.0,
    ) -> None:
        self.registry = registry
        self.store = store
        self.wire_capacity = wire_capacity
        self.stall_seconds = stall_seconds
        # a pypes.journal.Journal (``--durable``): append(packets, route) -> id, done(ids)
        self.journal = journal
        # (journal id, batch) of batches whose pass ran, until none of their packets is left
        self._journaled: list[tuple[int, Any]] = []
        self._next_retire = 0.0
        self._retire_timer: asyncio.TimerHandle | None = None
        self.dead_letters = DeadLetters(dead_letter_limit)
        self.receipts = Receipts()
        self.context = Context(
            data_dir=data_dir or Path.cwd(),
            on_failure=self._on_failure,
            on_result=self.receipts.claim,
            wake=self.wake,
            services=services if services is not None else {},
        )
        self.graph = Graph()
        self.components: dict[str, Component] = {}
        self.scheduler = Scheduler([])
        self.accepted = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.channel = Channel(queue_limit, queue_bytes)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._batch_numbers = itertools.count(1)

    # lifecycle

    def start(self, graph: Graph | None = None) -> None:
        """Start the engine thread and install ``graph`` (checked; kept at its ``rev``)."""
        self._thread = threading.Thread(target=self._thread_main, name="pypes-engine", daemon=True)
        self._thread.start()
        self._ready.wait()
        if graph is not None:
            self._submit(lambda: self._install(graph)).result()

    def stop(self, timeout: float = 30.0) -> None:
        """Close every component (composites stop their workers) and end the thread."""
        if self._thread is None or self.loop is None:
            return
        self._stopping = True
        self.wake()
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # thread-safe calls

    def ingest(
        self,
        packets: list[Packet],
        route: str | None = None,
        *,
        wait: bool = False,
        key: str | None = None,
        size: int = 0,
        journal_id: int | None = None,
        batch: str | None = None,
    ) -> Future[Receipt]:
        """Queue documents for the entry Adapters; the future resolves when they are
        queued (``wait=False``) or when the graph has finished with them (``wait=True``).
        A repeated idempotency ``key`` is answered from the first receipt, not re-run.
        ``size`` (body bytes) counts against ``queue_bytes``. With a journal, the batch is
        written to it first (``Unavailable`` if it cannot be) and removed once finished;
        ``journal_id`` names a batch already there (a replay). ``batch`` is the id (from
        ``new_batch``) every packet already carries; without it, the packets are stamped
        with a new one."""
        seen = self.receipts.repeated(key) if key is not None else None
        if seen is not None:
            done: Future[Receipt] = Future()
            done.set_result(seen)
            return done
        if not self.scheduler.entries(route):
            where = f"/docs/{route}" if route else "/docs"
            raise NotFound(f"no Adapter in the graph takes documents posted to {where}")
        replay = journal_id is not None
        if not replay:
            self.channel.check_room(len(packets), size)
        receipt = Receipt(batch or self.new_batch(), len(packets))
        if batch is None:
            for packet in packets:
                packet.batch = receipt.batch
        if self.journal is not None and journal_id is None:
            journal_id = self.journal.append(packets, route)
        result: Future[Receipt] = Future()

        def run() -> Any:
            self.accepted += len(packets)
            if wait:
                self.receipts.watch(receipt)
            if not self.scheduler.feed(packets, route):
                for packet in packets:
                    self._on_failure("graph", packet, f"no Adapter takes route {route!r}", True)
            self.scheduler.run_until_idle()
            if journal_id is not None:
                self._journaled.append((journal_id, receipt.batch))
            receipt.processed = len(packets)
            if key is not None:
                self.receipts.remember(key, receipt)
            if wait:
                self.receipts.wait(receipt, result)
                return _LATER
            return receipt

        try:
            return self._submit(run, packets=len(packets), future=result, size=size,
                                check=not replay)
        except BaseException:
            if journal_id is not None and not replay:
                self.journal.done([journal_id])
            raise

    def new_batch(self) -> str:
        """A fresh batch id, to stamp packets with as they are made (``parse_body``)."""
        return f"b{next(self._batch_numbers)}"

    def recover(self, other: Any = None) -> int:
        """Replay every batch left in the journal, one at a time, before new requests;
        return how many documents. A batch no Adapter takes stays for a later start.
        With ``other`` (the journal of a process that no longer runs), take its batches
        over instead: each is written to this engine's journal and removed from the other
        before it is replayed."""
        if self.journal is None:
            return 0
        source = other if other is not None else self.journal
        documents = 0
        for entry in source.pending():
            journal_id = entry.id
            if other is not None:
                journal_id = self.journal.append(entry.packets, entry.route)
                other.done([entry.id])
            try:
                self.ingest(entry.packets, entry.route, journal_id=journal_id).result()
            except NotFound as exc:
                log.warning("journal batch %d kept, not replayed: %s", journal_id, exc.message)
                continue
            documents += len(entry.packets)
        if other is None:
            log.info("replayed %d documents from the journal", documents)
        return documents

    def trigger(self) -> Future[int]:
        """Run passes with no data (drives fetching adapters); resolves to packets moved."""
        return self._submit(self.scheduler_run)

    def change(
        self, edit: Callable[[Graph], Graph | None], if_match: int | None = None
    ) -> Future[Graph]:
        """Apply ``edit`` to a copy of the graph; validate, bump ``rev``, persist, apply.

        With a store, the change holds the store's lock and starts from the newest stored
        graph, so servers sharing a config dir (``serve --workers N``) never lose a change.
        """

        def run() -> Graph:
            with self.store.locked() if self.store is not None else nullcontext():
                self._catch_up()
                current = self.graph
                if if_match is not None and if_match != current.rev:
                    raise StaleRevision(
                        f"the graph is at revision {current.rev}, not {if_match}", current.rev
                    )
                draft = current.model_copy(deep=True)
                edited = edit(draft)
                new = edited if isinstance(edited, Graph) else draft
                new.number_wires()
                new.rev = current.rev + 1
                self._install(new, persist=True)
                return new

        return self._submit(run)

    def follow_store(self) -> Future[bool]:
        """Take the stored graph if another process sharing the store changed it."""
        return self._submit(self._catch_up)

    def _catch_up(self) -> bool:
        stored = self.store.load_if_changed() if self.store is not None else None
        if stored is None or stored.rev <= self.graph.rev:
            return False
        self._install(stored)
        return True

    def call(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run ``fn`` on the engine thread, between two batches."""
        return self._submit(fn)

    def wake(self) -> None:
        """Ask for another round of passes (safe from any thread)."""
        loop, wakeup = self.loop, self._wakeup
        if loop is not None and wakeup is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wakeup.set)

    # reads (from any thread)

    def component(self, component_id: str) -> Component:
        try:
            return self.components[component_id]
        except KeyError:
            raise NotFound(f"no component {component_id!r}") from None

    def stalls(self) -> list[dict[str, Any]]:
        """The component whose step has run longer than ``stall_seconds``, if any: a
        tasklet that does not yield holds up the whole graph."""
        running = self.scheduler.running
        if running is None:
            return []
        component_id, since = running
        seconds = time.monotonic() - since
        if seconds < self.stall_seconds:
            return []
        return [{"component": component_id, "seconds": round(seconds, 3)}]

    def stats(self) -> dict[str, Any]:
        components = self.components
        wires = {}
        for w in self.graph.wires:
            target = components.get(w.to[0])
            if target is not None:
                wires[w.id] = {"queued": len(target._inbox[w.to[1]]),
                               "capacity": target.wire_capacity}
        return {
            "rev": self.graph.rev,
            "name": self.graph.name,
            "accepted": self.accepted,
            "queued": self.channel.queued,
            "queue_limit": self.channel.queue_limit,
            "queued_bytes": self.channel.queued_bytes,
            "queue_bytes": self.channel.queue_bytes,
            "journal": None if self.journal is None else {
                "batches": len(self.journal), "dropped": self.journal.recovery.dropped},
            "stalled": self.stalls(),
            "dead_letters": len(self.dead_letters),
            "components": {cid: _component_stats(c) for cid, c in components.items()},
            "wires": wires,
        }

    # the engine thread

    def _submit(self, run: Callable[[], Any], packets: int = 0,
                future: Future[Any] | None = None, size: int = 0,
                check: bool = True) -> Future[Any]:
        if self.loop is None or self._stopping:
            raise PypesError("the engine is not running")
        job = Job(future or Future(), run, packets, size)
        self.channel.put(job, check)
        self.wake()
        return job.future

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._wakeup = asyncio.Event()
        self.loop = self.context.loop = loop
        self.scheduler.loop = loop
        self._ready.set()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        assert self._wakeup is not None
        while not self._stopping:
            await self._wakeup.wait()
            self._wakeup.clear()
            while True:
                job = self.channel.take(self._entry_full)
                if job is None:
                    break
                self._run_job(job)
                self._answer_waiters()  # each batch is answered as soon as it is done
                await asyncio.sleep(0)  # let awaited coroutines and composite I/O progress
            self.scheduler_run()
        await self._shutdown()

    def _entry_full(self) -> bool:
        """True while an entry Adapter already holds a wire's worth of documents."""
        return any(len(c._inbox["in"]) >= self.wire_capacity
                   for c in self.scheduler.ordered if c.type == "Adapter" and "in" in c._inbox)

    def _run_job(self, job: Job) -> None:
        try:
            value = job.run()
        except Exception as exc:  # noqa: BLE001 - handed to the caller through its future
            self.channel.ran(job)
            if not job.future.done():
                job.future.set_exception(exc)
            if not isinstance(exc, PypesError):
                log.exception("engine job failed")
            return
        self.channel.ran(job)
        if value is not _LATER:
            job.future.set_result(value)

    def scheduler_run(self) -> int:
        """Passes until idle, then answer the waiters if nothing is still in flight."""
        moved = self.scheduler.run_until_idle()
        self._answer_waiters()
        if self._journaled:
            self._retire_journal()
        return moved

    def _retire_journal(self) -> None:
        """Remove from the journal the batches none of whose packets is queued or held
        anywhere. Looking costs a walk over the queues, so it runs at most every
        ``RETIRE_INTERVAL``, and a timer brings it back while batches remain (so the last
        ones go even when all is quiet, and a timer that fires a little early is no loss)."""
        now = time.monotonic()
        if now >= self._next_retire:
            self._next_retire = now + RETIRE_INTERVAL
            in_flight = self.scheduler.batches_in_flight()
            if in_flight is None:  # a component cannot say what it holds: wait for quiet
                if self.scheduler.busy() or any(c.queued() for c in self.scheduler.ordered):
                    in_flight = {batch for _, batch in self._journaled}
                else:
                    in_flight = set()
            finished = [jid for jid, batch in self._journaled if batch not in in_flight]
            self._journaled = [(jid, b) for jid, b in self._journaled if b in in_flight]
            if finished:
                assert self.journal is not None
                self.journal.done(finished)
        if self._journaled and self._retire_timer is None and self.loop is not None:
            self._retire_timer = self.loop.call_later(self._next_retire - now, self._retire_due)

    def _retire_due(self) -> None:
        self._retire_timer = None
        self.wake()

    def _answer_waiters(self) -> None:
        """Answer the ``wait=True`` requests, unless work is still in flight somewhere."""
        if self.receipts.waiting and not self.scheduler.busy():
            self.receipts.answer()

    async def _shutdown(self) -> None:
        for component in list(self.components.values()):
            await close(component)
        self.receipts.answer()
        for job in self.channel.close():
            job.future.set_exception(PypesError("the engine stopped"))

    def _install(self, graph: Graph, persist: bool = False) -> None:
        graph.check(self.registry)
        order = graph.order()
        built = assemble(graph, self.registry, self.components, self.context,
                         self.wire_capacity, self._spawn_close)
        if persist and self.store is not None:
            try:
                self.store.save(graph)
            except BaseException:
                for component in built.created:
                    self._spawn_close(component)
                raise
        self.graph, self.components = graph, built.components
        self.scheduler = Scheduler([built.components[cid] for cid in order], self.loop)
        for component in built.created:
            component.start()
        for component in built.removed:
            self._spawn_close(component)

    def _spawn_close(self, component: Component) -> None:
        for port, inbox in component._inbox.items():
            while inbox:
                self._on_failure(component.id, inbox.popleft(),
                                 f"component removed with the document queued on {port!r}", True)
        assert self.loop is not None
        self.loop.create_task(close(component))

    def _on_failure(self, component_id: str, packet: Packet, error: str, dead: bool) -> None:
        if dead:
            self.dead_letters.add(component_id, packet, error)
        self.receipts.failed(component_id, packet, error, dead)


def _component_stats(component: Component) -> dict[str, Any]:
    counters = component.counters
    return {
        "class": type(component).__name__,
        "type": component.type,
        "state": component.state,
        "in": counters.received,
        "out": counters.sent,
        "errors": counters.errors,
        "queued": component.queued(),
        "last_error": counters.last_error,
        **component.status(),
    }

