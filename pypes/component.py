"""Component: the base class of every box on the canvas.

A component declares named ``inputs`` and ``outputs`` (port name → description), a
pydantic ``Params`` model and a docstring that the palette shows. Write one of two ways:

* override ``process(packet)`` and return a packet, ``None`` to drop it, or a list; the
  scheduler calls it for every packet buffered on the inputs, and sends results to ``out``
  (a component that cannot fail on any one document may override ``process_batch``
  instead, to take a whole pass's packets in one call);
* override ``run()`` as a 2010-style tasklet loop::

      def run(self):
          while True:
              for packet in self.receive_all("in"):
                  self.send("out", packet)
              self.yield_ctrl()

Every component also has an implicit ``error`` output: a packet it fails on goes there
when that port is wired, else to the dead-letter store, and the graph keeps running.
"""

from __future__ import annotations

import builtins
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from greenlet import getcurrent
from pydantic import BaseModel, ConfigDict

from pypes.packet import Packet

ERROR_PORT = "error"
TYPES = ("Adapter", "Transformer", "Filter", "Extractor", "Operator", "Publisher", "Composite")
DEFAULT_WIRE_CAPACITY = 10_000


class Params(BaseModel):
    """Base of every params model: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ComponentError(Exception):
    """A component cannot do its job with the parameters or input it was given."""


@dataclass
class Context:
    """What the running engine offers its components.

    ``on_failure(component_id, packet, error, dead_letter)`` records a failed packet (stored
    as a dead letter when ``dead_letter`` is true); ``on_result(packets)`` hands the packets
    that reach a result sink to the requests waiting for them and returns the rest, which
    the sink keeps; ``wake()`` asks for another pass from any thread (for
    components fed from outside, such as a composite's results); ``loop`` is the engine's
    asyncio loop, ``None`` when the graph runs without one; ``data_dir`` is where file
    publishers may write; ``services`` holds server-wide objects a component may need
    (a composite finds its worker providers there).
    """

    data_dir: Path = field(default_factory=Path.cwd)
    on_failure: Callable[[str, Packet, str, bool], None] = lambda cid, p, error, dead: None
    on_result: Callable[[list[Packet]], list[Packet]] = lambda packets: packets
    wake: Callable[[], None] = lambda: None
    loop: Any = None
    services: dict[str, Any] = field(default_factory=dict)

    def resolve_path(self, path: str) -> Path:
        """``path`` under ``data_dir``; a path that leaves it raises ComponentError."""
        base = self.data_dir.resolve()
        target = (base / path).resolve()
        if target != base and base not in target.parents:
            raise ComponentError(f"path {path!r} is outside the data directory {base}")
        return target


@dataclass(slots=True)
class Counters:
    """Per-component statistics, read by /stats."""

    received: int = 0
    sent: int = 0
    errors: int = 0
    last_error: str | None = None


class Await:
    """What a tasklet hands the scheduler when it calls ``await_``."""

    __slots__ = ("coroutine",)

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self.coroutine = coroutine


class Component:
    """Base class of all components. See the module docstring for how to write one."""

    type: ClassVar[str] = "Transformer"
    inputs: ClassVar[dict[str, str]] = {"in": "documents to process"}
    outputs: ClassVar[dict[str, str]] = {"out": "processed documents"}
    Params: ClassVar[builtins.type[BaseModel]] = Params
    # True for receivers that neither change nor keep a packet (loggers, file writers):
    # a fanned-out packet is then handed over without a copy.
    reads_only: ClassVar[bool] = False

    def __init__(self, id: str = "", params: BaseModel | dict[str, Any] | None = None) -> None:
        self.id = id or type(self).__name__
        self.params: Any
        if isinstance(params, self.Params):
            self.params = params
        else:
            self.params = self.Params.model_validate(params or {})
        self.context = Context()
        self.counters = Counters()
        self.state = "ready"
        self._inbox: dict[str, deque[Packet]] = {port: deque() for port in self.inputs}
        # port → list of (receiving inbox, whether the receiver gets a copy)
        self._routes: dict[str, list[tuple[deque[Packet], bool]]] = {
            port: [] for port in self.all_outputs()
        }
        self.wire_capacity = DEFAULT_WIRE_CAPACITY
        self.tasklet: Any = None  # the greenlet running run(), for tasklet-style classes
        self.parked: Any = None  # the asyncio task a tasklet is awaiting

    @classmethod
    def all_outputs(cls) -> list[str]:
        """Declared output ports plus the implicit ``error`` port."""
        return [*cls.outputs, ERROR_PORT] if ERROR_PORT not in cls.outputs else list(cls.outputs)

    @classmethod
    def is_tasklet(cls) -> bool:
        """True when the class overrides ``run()`` and so needs a greenlet of its own."""
        return cls.run is not Component.run

    def process(self, packet: Packet) -> Packet | list[Packet] | None:
        """Handle one packet; return it (or others) to send to ``out``, or ``None``."""
        return packet

    def process_batch(self, packets: list[Packet]) -> list[Packet]:
        """Handle every packet of a pass at once and return those to send to ``out``.

        Override this instead of ``process`` for speed, only where no single document can
        fail: an exception here fails every packet of the batch.
        """
        raise NotImplementedError

    @classmethod
    def batches(cls) -> bool:
        """True when the class handles whole batches (overrides ``process_batch``)."""
        return cls.process_batch is not Component.process_batch

    def run(self) -> None:
        """The tasklet body. The default drains the inputs through ``process``."""
        while True:
            self.drain()
            self.yield_ctrl()

    def start(self) -> None:
        """Called in the engine thread once the component is placed in a running graph."""

    async def close(self) -> None:
        """Called when the component leaves the graph or the engine stops: release resources."""

    def reconfigure(self, params: BaseModel) -> bool:
        """Take new params in place and return True, or return False to be replaced."""
        return False

    def pending(self) -> int:
        """Packets accepted but still being worked on elsewhere (a composite's in-flight)."""
        return 0

    def held_batches(self) -> set[Any] | None:
        """The ingest batches (``packet.batch``) of the packets this component keeps beyond
        its inboxes, so the journal knows what is unfinished; ``None`` when it cannot say.
        A ``process`` component keeps nothing between passes; a tasklet should override."""
        return None if self.is_tasklet() else set()

    def status(self) -> dict[str, Any]:
        """Extra figures for /stats (a composite reports its workers here)."""
        return {}

    def receive(self, port: str = "in") -> Packet | None:
        """The next packet buffered on ``port``, or ``None``."""
        inbox = self._inbox[port]
        if not inbox:
            return None
        self.counters.received += 1
        return inbox.popleft()

    def receive_all(self, port: str = "in") -> Iterator[Packet]:
        """Every packet buffered on ``port`` now, oldest first."""
        inbox = self._inbox[port]
        while inbox:
            self.counters.received += 1
            yield inbox.popleft()

    def send(self, port: str, packet: Packet) -> None:
        """Send ``packet`` to every wire on ``port`` (an unwired port drops it)."""
        routes = self._routes[port]
        for inbox, copy in routes:
            inbox.append(packet.clone() if copy else packet)
        if routes:
            self.counters.sent += 1

    def emit(self, port: str, packets: list[Packet]) -> None:
        """Send many packets at once: the fast path for batch-minded components."""
        routes = self._routes.get(port)
        if not routes or not packets:
            return
        self.counters.sent += len(packets)
        for inbox, copy in routes:
            inbox.extend([p.clone() for p in packets] if copy else packets)

    def fail(self, packet: Packet, error: BaseException | str) -> None:
        """Report that this component could not handle ``packet``."""
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.counters.errors += 1
        self.counters.last_error = message
        wired = bool(self._routes[ERROR_PORT])
        self.context.on_failure(self.id, packet, message, not wired)
        if wired:
            packet.meta["error"] = {"component": self.id, "error": message, "time": time.time()}
            self.send(ERROR_PORT, packet)

    def yield_ctrl(self) -> None:
        """Give control back to the scheduler; the next pass resumes right here."""
        getcurrent().parent.switch()

    def await_(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run an asyncio coroutine on the engine's loop and return its result.

        The tasklet is parked while the coroutine runs, so the rest of the graph and the
        server keep going; it resumes in a later pass with the result (or the exception).
        """
        return getcurrent().parent.switch(Await(coroutine))

    def queued(self) -> int:
        """Packets waiting on this component's inputs."""
        return sum(len(q) for q in self._inbox.values())

    def has_room(self) -> int:
        """How many packets the outputs can still take before a wire is over capacity."""
        room = self.wire_capacity
        for routes in self._routes.values():
            for inbox, _ in routes:
                room = min(room, self.wire_capacity - len(inbox))
        return room

    def drain(self, limit: int | None = None) -> int:
        """Pass up to ``limit`` buffered packets through ``process``; return how many."""
        done = 0
        process = self.process
        out: list[Packet] = []
        append = out.append
        for inbox in self._inbox.values():
            if not inbox:
                continue
            if limit is None or len(inbox) <= limit - done:
                batch = list(inbox)
                inbox.clear()
            else:
                batch = [inbox.popleft() for _ in range(max(0, limit - done))]
            done += len(batch)
            if self.batches():
                try:
                    out.extend(self.process_batch(batch))
                except Exception as exc:  # noqa: BLE001 - the contract: the batch fails whole
                    for packet in batch:
                        self.fail(packet, exc)
                continue
            for packet in batch:
                try:
                    result = process(packet)
                except Exception as exc:  # noqa: BLE001 - any failure goes to the error policy
                    self.fail(packet, exc)
                    continue
                if result is packet:
                    append(result)
                elif result is None:
                    continue
                elif result.__class__ is Packet:
                    append(result)
                else:
                    out.extend(result)  # type: ignore[arg-type]
        self.counters.received += done
        if out:
            self.emit("out", out)
        return done

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"


def batches_of(packets: Iterable[Packet]) -> set[Any]:
    """The ingest batches the packets belong to."""
    return {p.batch for p in packets}
