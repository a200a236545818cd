"""WorkerPool: a composite's worker instances, started through a provider and kept fed.

Everything here runs on the engine's asyncio loop, next to the passes, so it shares the
composite's state without locks. Per worker slot, a task boots a worker (launch, wait for
its registration, ``PUT /graph``), then runs ``WINDOW`` senders that take batches from
the ledger and ``POST`` them with ``?wait=true``, and a watchdog that asks the provider
whether the instance still lives. When a worker is lost its unacknowledged batches go
back to the ledger for the others (or its replacement), and the slot starts a new one.
A worker that cannot start fails the composite with its own words; so does a slot whose
workers keep dying (``CRASH_LOOP`` within a minute). See docs/worker-protocol.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pypes.cloud.client import WorkerClient, WorkerError, make_http
from pypes.cloud.directory import directory_of, master_url, release_master_url
from pypes.cloud.lifecycle import Lifecycle
from pypes.cloud.protocol import Answer, Batch, Ledger, delivered, encode_batch
from pypes.cloud.provider import Instance, Provider, ProviderError, WorkerSpec
from pypes.cloud.subgraph import Subgraph
from pypes.component import batches_of
from pypes.packet import Packet

if TYPE_CHECKING:
    from pypes.components.composite import Composite

log = logging.getLogger("pypes.cloud")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per batch is noise
WINDOW = 4  # batches in flight per worker: the worker answers them in groups, so keep it fed
CRASH_LOOP = 5  # worker deaths within CRASH_WINDOW seconds that fail the composite
CRASH_WINDOW = 60.0
RETRIES = 3  # tries of one call before a worker counts as lost
DRAIN_TIMEOUT = 10.0
ACK_EVERY = 5.0  # seconds between acknowledgements to a worker's Collects


class StartupError(Exception):
    """A worker could not be started, registered or configured."""


class WorkerLost(Exception):
    """A worker stopped answering; the message says why."""


class BatchRefused(Exception):
    """A worker refused a batch itself (4xx): its documents fail, the worker stays."""


@dataclass(eq=False)
class WorkerLink:
    """One worker as the master sees it."""

    id: str
    token: str
    slot: int
    lifecycle: Lifecycle
    instance: Instance | None = None
    launching: asyncio.Task[Instance] | None = None
    url: str | None = None
    client: WorkerClient | None = None
    taken: int = 0  # results taken from it (its Collects' cursor, as far as we know)
    acked: int = 0
    acking: bool = False
    ack_time: float = 0.0
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)


def make_provider(params: Any, services: dict[str, Any]) -> Provider:
    """The provider a composite's params name."""
    if params.provider == "local":
        from pypes.cloud.local import LocalProvider

        return LocalProvider()
    if params.provider == "ec2":
        from pypes.cloud.ec2 import ec2_provider

        settings = services.get("settings")
        if settings is None:
            raise ProviderError("the ec2 provider needs a server (pypes serve): it tags "
                                "instances with the server's id")
        return ec2_provider(params.ec2, settings)
    raise ProviderError(f"unknown provider {params.provider!r}")


class WorkerPool:
    """The remote side of a composite (providers ``local`` and ``ec2``)."""

    def __init__(self, owner: Composite, subgraph: Subgraph) -> None:
        self.owner = owner
        self.params = owner.params
        self.provider_name = self.params.provider
        self.lifecycle: Lifecycle = owner.lifecycle
        self.subgraph = subgraph
        self.ledger = Ledger(self.params.batch_size, self.params.linger_ms / 1000,
                             prefix=f"{owner.id}-{secrets.token_hex(4)}")
        self.outbox: deque[Packet] = deque()
        self.links: dict[str, WorkerLink] = {}
        self.provider: Provider | None = None
        self.master = ""
        self._own_listener = False
        self._closing = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._more: asyncio.Event | None = None
        self._keepers: dict[int, asyncio.Task[Any]] = {}  # slot -> the task keeping it
        self._timer: asyncio.TimerHandle | None = None
        self._http: Any = None

    # called from the composite's step (engine thread)

    def start(self) -> None:
        loop = self.owner.context.loop
        if loop is None:
            self.fail("a remote composite needs a running engine (an asyncio loop)")
            return
        self._more = asyncio.Event()
        self._spawn(self._provision())

    def room(self) -> int:
        return max(0, self.params.max_waiting - self.ledger.waiting)

    def submit(self, packets: list[Packet]) -> None:
        parsed = [p for p in packets if p.raw is None]
        if len(parsed) < len(packets):  # a raw body would reach the worker as {}
            for packet in packets:
                if packet.raw is not None:
                    self.owner.fail(packet, "a raw body cannot be sent to a worker: parse it "
                                            "with an Adapter before the composite")
        self.ledger.add(parsed, time.monotonic())

    def step(self) -> None:
        self._cut()

    def pending(self) -> int:
        return len(self.ledger) + len(self.outbox)

    def held_batches(self) -> set[Any]:
        return self.ledger.batches() | batches_of(self.outbox)

    def waiting(self) -> int:
        return self.ledger.waiting

    def in_flight(self) -> int:
        return self.ledger.in_flight()

    def reconfigure(self, params: Any, subgraph: Subgraph) -> bool:
        """Take new params in place: a new subgraph goes to the running workers, a new
        ``instances`` starts or retires workers (a retiring worker first finishes its
        batches in flight). Another provider or cloud set-up needs a new pool."""
        old = self.params
        if (params.provider, params.ec2) != (old.provider, old.ec2):
            return False
        if self.lifecycle.state == "failed":
            return False
        self.params = params
        if params.instances != old.instances:
            self._scale()
        self.ledger.batch_size = params.batch_size
        self.ledger.linger = params.linger_ms / 1000
        if subgraph.graph.dump() != self.subgraph.graph.dump():
            self.subgraph = subgraph
            for link in list(self.links.values()):
                if link.lifecycle.state == "ready":
                    self._spawn(self._configure(link))
        return True

    # the ledger's timer

    def _cut(self) -> None:
        if self.ledger.cut(time.monotonic()) and self._more is not None:
            self._more.set()
        due = self.ledger.due()
        if due is not None and self._timer is None and not self._closing:
            loop = self.owner.context.loop
            self._timer = loop.call_later(max(0.0, due - time.monotonic()), self._linger)

    def _linger(self) -> None:
        self._timer = None
        self._cut()

    # provisioning and supervision (async, engine loop)

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = self.owner.context.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _provision(self) -> None:
        services = self.owner.context.services
        directory_of(services).attach(self)
        try:
            self.master, self._own_listener = await master_url(services)
            self.provider = make_provider(self.params, services)
        except (ProviderError, OSError) as exc:
            self.fail(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the user must see why, not a traceback
            self.fail(f"{type(exc).__name__}: {exc}")
            return
        self._http = make_http()
        self._scale()

    def _scale(self) -> None:
        """A keeper for every slot up to ``instances`` (slots above it retire by
        themselves, see ``_keep``); before provisioning there is nothing to do yet."""
        if self._http is None or self._closing:
            return
        for slot in range(self.params.instances):
            keeper = self._keepers.get(slot)
            if keeper is None or keeper.done():
                self._keepers[slot] = self._spawn(self._keep(slot))
        if self._more is not None:
            self._more.set()  # wake the send loops of retiring workers

    def _retiring(self, link: WorkerLink) -> bool:
        return link.slot >= self.params.instances

    async def _keep(self, slot: int) -> None:
        """Keep one worker running in ``slot``: boot it, serve it, replace it when lost;
        retire it once ``instances`` falls to ``slot`` or below."""
        deaths: deque[float] = deque()
        while not self._closing and self.lifecycle.state != "failed":
            if slot >= self.params.instances:
                return
            link = self._new_link(slot)
            try:
                await self._boot(link)
            except StartupError as exc:
                reason = f"worker {link.id}: {exc}"
                await self._retire(link, reason)
                self.fail(reason)
                return
            reason = await self._serve(link)
            if self._closing:
                return
            if self._retiring(link):
                await self._retire(link)
                continue
            log.warning("composite %s lost worker %s: %s; starting another", self.owner.id,
                        link.id, reason)
            await self._retire(link, reason)
            now = time.monotonic()
            deaths.append(now)
            while deaths and deaths[0] < now - CRASH_WINDOW:
                deaths.popleft()
            if len(deaths) >= CRASH_LOOP:
                self.fail(f"workers keep dying ({len(deaths)} in {CRASH_WINDOW:.0f} s); "
                          f"the last: {reason}")
                return

    def _new_link(self, slot: int) -> WorkerLink:
        worker_id = f"{self.owner.id}-{slot}-{secrets.token_hex(3)}"
        link = WorkerLink(worker_id, secrets.token_urlsafe(24), slot,
                          Lifecycle(on_change=lambda _state: self._refresh()))
        self.links[worker_id] = link
        return link

    async def _boot(self, link: WorkerLink) -> None:
        assert self.provider is not None
        provider = self.provider
        registered = directory_of(self.owner.context.services).expect(
            link.id, link.token, self.owner.id)
        spec = WorkerSpec(link.id, link.token, self.master, self.owner.id)
        link.launching = asyncio.get_running_loop().create_task(provider.launch(spec))
        try:
            link.instance = await asyncio.shield(link.launching)
        except ProviderError as exc:
            raise StartupError(str(exc)) from None
        timeout = self.params.startup_timeout or _default_timeout(provider)
        deadline = time.monotonic() + timeout
        poll = getattr(provider, "poll_interval", 0.5)
        while not registered.done():
            if time.monotonic() > deadline:
                said = provider.failure(link.instance)
                raise StartupError(f"did not register within {timeout:g} s"
                                   + (f" ({said})" if said else ""))
            await asyncio.wait({registered}, timeout=poll)
            if not registered.done() and not await provider.alive(link.instance):
                await asyncio.sleep(0.05)
                if not registered.done():
                    raise StartupError(provider.failure(link.instance)
                                       or "the instance stopped before it registered")
        link.url = registered.result()
        link.instance.details["url"] = link.url
        link.client = WorkerClient(self._http, link.url, link.token)
        await self._configure(link, startup=True)

    async def _configure(self, link: WorkerLink, startup: bool = False) -> None:
        """``PUT /graph`` the subgraph to a worker; a refusal fails the composite."""
        assert link.client is not None
        link.lifecycle.to("configuring")
        try:
            await link.client.put_graph(self.subgraph.dump())
        except WorkerError as exc:
            said = f"the worker refused the subgraph: {exc.message}" if exc.status == 422 \
                else f"cannot give the worker its subgraph: {exc.message}"
            if startup:
                raise StartupError(said) from None
            self.fail(f"worker {link.id}: {said}")
            return
        link.lifecycle.to("ready")
        if self._more is not None:
            self._more.set()

    async def _serve(self, link: WorkerLink) -> str:
        """Feed a ready worker until it is lost; return why it was."""
        link.tasks = [self._spawn(self._send_loop(link)) for _ in range(WINDOW)]
        link.tasks.append(self._spawn(self._watch(link)))
        try:
            done, _ = await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in link.tasks:
                task.cancel()
            await asyncio.gather(*link.tasks, return_exceptions=True)
        for task in done:
            if task.cancelled():
                continue
            error = task.exception()
            if isinstance(error, WorkerLost):
                return str(error)
            if error is not None:
                log.error("composite %s: worker %s sender failed", self.owner.id, link.id,
                          exc_info=error)
                return f"{type(error).__name__}: {error}"
            return str(task.result())
        return "stopped"

    async def _watch(self, link: WorkerLink) -> str:
        assert self.provider is not None and link.instance is not None
        poll = getattr(self.provider, "poll_interval", 0.5)
        while await self.provider.alive(link.instance):
            await asyncio.sleep(poll)
        return self.provider.failure(link.instance) or "the instance stopped"

    async def _send_loop(self, link: WorkerLink) -> None:
        assert self._more is not None
        while True:
            if self._retiring(link):  # scaled down: finish the batches in flight, then stop
                if not self.ledger.in_flight(link.id):
                    return
                await asyncio.sleep(0.02)
                continue
            batch = self.ledger.next_for(link.id) if link.lifecycle.state == "ready" else None
            if batch is None:
                self._more.clear()
                await self._more.wait()
                continue
            try:
                answer = await self._post(link, batch)
            except BatchRefused as exc:
                if self.ledger.done(batch.key) is not None:
                    for packet in batch.packets:
                        self.owner.fail(packet, f"worker {link.id} refused the batch: {exc}")
                    self.owner.context.wake()
                continue
            if self.ledger.done(batch.key) is None:
                continue  # answered before, by another worker: a duplicate
            self._deliver(link, batch, answer)

    async def _post(self, link: WorkerLink, batch: Batch) -> Answer:
        assert link.client is not None and self.provider is not None
        if batch.body is None:
            # on the loop: a thread hand-over costs more than encoding (~0.1 µs a document
            # plus gzip level 1) and would wait on the GIL behind the passes anyway
            batch.body, batch.headers = encode_batch(batch, self.params.compress)
        tries = 0
        while True:
            try:
                return await link.client.post_batch(batch.body, batch.headers, len(batch))
            except WorkerError as exc:
                status = exc.status
                if status in (429, 503):
                    await asyncio.sleep(min(exc.retry_after or 0.5, 5.0))
                    continue
                if status is not None and status < 500 and status not in (401, 403, 404):
                    raise BatchRefused(exc.message) from None
                if status is None and not await self.provider.alive(link.instance):  # type: ignore[arg-type]
                    raise WorkerLost(self.provider.failure(link.instance)  # type: ignore[arg-type]
                                     or exc.message) from None
                tries += 1
                if tries >= RETRIES:
                    raise WorkerLost(f"{exc.message} ({tries} tries)") from None
                await asyncio.sleep(0.1 * 2 ** tries)

    def _deliver(self, link: WorkerLink, batch: Batch, answer: Answer) -> None:
        self.outbox.extend(delivered(batch, answer.results))
        owner = self.owner
        if not answer.duplicate:
            # what failed in the subgraph comes home: to the error port or the dead letters
            for failure in answer.failed:
                owner.fail(Packet(failure["document"], None, None, batch.ingest),
                           f"component {failure.get('component')!r} in the subgraph: "
                           f"{failure.get('error')}")
            routed = answer.errors - len(answer.failed)  # sent to error ports inside
            if routed > 0:
                owner.counters.errors += routed
                owner.counters.last_error = (f"{routed} document(s) went to an error port in "
                                             f"the subgraph on worker {link.id}")
        if not answer.duplicate:
            link.taken += len(answer.results)
            now = time.monotonic()
            if link.taken > link.acked and not link.acking and now - link.ack_time > ACK_EVERY:
                link.ack_time = now
                self._spawn(self._acknowledge(link))
        owner.context.wake()

    async def _acknowledge(self, link: WorkerLink) -> None:
        """Free the worker's Collects up to what was taken. Results come back in the
        answers, so the sinks hold nothing the master needs (see docs/worker-protocol.md);
        this keeps a worker's memory flat even if something lands there."""
        link.acking = True
        try:
            while link.acked < link.taken and link.client is not None:
                upto = link.taken
                for collect in self.subgraph.collects:
                    await link.client.acknowledge(collect, upto)
                link.acked = upto
        except WorkerError as exc:
            log.info("acknowledging results on worker %s failed: %s", link.id, exc.message)
        finally:
            link.acking = False

    async def _retire(self, link: WorkerLink, reason: str | None = None) -> None:
        """Stop a worker: its unacknowledged batches go back to the ledger first."""
        for batch in self.ledger.lost(link.id):
            for packet in batch.packets:
                self.owner.fail(packet, f"batch {batch.key} was lost with {batch.attempts} "
                                        f"workers; the last: {reason}")
            self.owner.context.wake()
        if self._more is not None:
            self._more.set()
        directory_of(self.owner.context.services).forget(link.id)
        if link.instance is None and link.launching is not None:
            with contextlib.suppress(Exception):
                link.instance = await link.launching
        if link.instance is not None and self.provider is not None:
            if link.lifecycle.can("draining"):
                link.lifecycle.to("draining")
            try:
                await self.provider.terminate(link.instance)
            except ProviderError as exc:
                log.warning("terminating worker %s failed: %s", link.id, exc)
        if link.lifecycle.can("terminated"):
            link.lifecycle.to("terminated")
        elif link.lifecycle.can("failed"):
            link.lifecycle.to("failed", reason)
        self.links.pop(link.id, None)

    # state

    def _refresh(self) -> None:
        """The composite's state from its workers'."""
        if self._closing or self.lifecycle.state == "failed":
            return
        states = {link.lifecycle.state for link in self.links.values()}
        if "ready" in states:
            target = "ready"
        elif "configuring" in states:
            target = "configuring"
        else:
            target = "provisioning"
        if target != self.lifecycle.state:
            if target == "ready" and self.lifecycle.state == "provisioning":
                self.lifecycle.to("configuring")
            self.lifecycle.to(target)

    def fail(self, reason: str) -> None:
        """Fail the composite: every document it holds goes to the error policy, every
        worker is stopped; new documents fail at once until it is reconfigured."""
        if self.lifecycle.state in ("failed", "terminated"):
            return
        if not self.lifecycle.can("failed"):
            return
        log.error("composite %s failed: %s", self.owner.id, reason)
        self.lifecycle.to("failed", reason)
        for packet in self.ledger.clear():
            self.owner.fail(packet, reason)
        self.owner.context.wake()
        if self.owner.context.loop is not None and not self._closing:
            self._spawn(self._stop_workers())

    async def _stop_workers(self) -> None:
        for link in list(self.links.values()):
            for task in link.tasks:
                task.cancel()
            await self._retire(link, self.lifecycle.reason)

    async def close(self, drain: float = DRAIN_TIMEOUT) -> None:
        """Drain (unsent documents fail, in-flight batches may finish), then stop."""
        if self.lifecycle.can("draining"):
            self.lifecycle.to("draining")
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        for packet in self.ledger.take_unsent():
            self.owner.fail(packet, "the composite was removed before the document was sent")
        deadline = time.monotonic() + drain
        while self.ledger.in_flight() and time.monotonic() < deadline and any(
                link.lifecycle.state == "ready" for link in self.links.values()):
            await asyncio.sleep(0.02)
        if self.outbox:  # results that came back while draining still go downstream
            self.owner.emit("out", list(self.outbox))
            self.outbox.clear()
            self.owner.context.wake()
        for packet in self.ledger.clear():
            self.owner.fail(packet, "the composite was removed while the document was on "
                                    "a worker")
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not current),
                             return_exceptions=True)
        await asyncio.gather(*(self._retire(link)
                               for link in list(self.links.values())), return_exceptions=True)
        if self.provider is not None:
            with contextlib.suppress(Exception):
                await self.provider.close()
        if self._http is not None:
            await self._http.aclose()
        services = self.owner.context.services
        directory_of(services).detach(self)
        if self._own_listener:
            await release_master_url(services)
        if self.lifecycle.can("terminated"):
            self.lifecycle.to("terminated")

    # reads from any thread

    def worker_rows(self) -> list[dict[str, Any]]:
        rows = []
        for link in list(self.links.values()):
            details = link.instance.details if link.instance is not None else {}
            row = {"id": link.id, "composite": self.owner.id, "provider": self.provider_name,
                   "url": link.url, "state": link.lifecycle.state,
                   "pid": details.get("pid"), "in_flight": self.ledger.in_flight(link.id)}
            if link.instance is not None and "pid" not in details:
                row["instance"] = link.instance.handle
                row["instance_state"] = details.get("state")
            if link.lifecycle.reason:
                row["reason"] = link.lifecycle.reason
            rows.append(row)
        return rows

    def status(self) -> dict[str, Any]:
        return {}


def _default_timeout(provider: Provider) -> float:
    config = getattr(provider, "config", None)
    return float(getattr(config, "register_timeout", 60.0))
