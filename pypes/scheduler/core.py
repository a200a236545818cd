"""The scheduler core: one pass runs every component once, in topological order.

Sans-I/O: it moves packets between in-memory queues and switches greenlets; it never
touches a socket. A component that only overrides ``process`` is drained directly (no
greenlet switch at all); one that overrides ``run`` gets a greenlet (a tasklet) that is
switched into once per pass and resumes where it last called ``yield_ctrl``. A tasklet
that raises is reported and restarted on the next pass; one that calls ``await_`` is
parked until its coroutine finishes, while the rest of the graph keeps running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from greenlet import greenlet

from pypes.component import Await, Component, batches_of
from pypes.packet import Packet

log = logging.getLogger("pypes.scheduler")


class Scheduler:
    """Runs passes over components given in topological order."""

    def __init__(self, ordered: Sequence[Component], loop: Any = None) -> None:
        self.ordered = list(ordered)
        self.loop = loop
        # (component id, monotonic start) while a component's step runs: read by /health
        # from the web thread to name a tasklet that does not yield
        self.running: tuple[str, float] | None = None
        # route -> its entry Adapters; a graph change builds a new scheduler
        self._entries: dict[str | None, list[Component]] = {}

    def entries(self, route: str | None = None) -> list[Component]:
        """The Adapters that take documents posted to ``/docs`` (or ``/docs/{route}``)."""
        route = route or None
        found = self._entries.get(route)
        if found is None:
            found = self._entries[route] = [
                c for c in self.ordered
                if c.type == "Adapter" and "in" in c._inbox
                and (getattr(c.params, "route", None) or None) == route
            ]
        return found

    def feed(self, packets: list[Packet], route: str | None = None) -> int:
        """Buffer packets on the entry Adapters' ``in`` ports; return how many Adapters."""
        entries = self.entries(route)
        for n, adapter in enumerate(entries):
            adapter._inbox["in"].extend(packets if n == 0 else [p.clone() for p in packets])
        return len(entries)

    def run_pass(self) -> int:
        """Run every component once; return how many packets were taken or sent."""
        moved = 0
        for component in self.ordered:
            if component.tasklet is not None or component.is_tasklet():
                self.running = (component.id, time.monotonic())
                moved += self._step(component)
            elif component.queued():
                room = component.has_room()
                if room > 0:
                    self.running = (component.id, time.monotonic())
                    moved += component.drain(room)
        self.running = None
        return moved

    def run_until_idle(self, max_passes: int = 10_000) -> int:
        """Run passes until no packet moves (held packets stay for the next input)."""
        total = 0
        for _ in range(max_passes):
            moved = self.run_pass()
            total += moved
            if not moved:
                break
        return total

    def batches_in_flight(self) -> set[Any] | None:
        """The ingest batches with a packet queued or held anywhere (``None``: unknown)."""
        batches: set[Any] = set()
        for component in self.ordered:
            held = component.held_batches()
            if held is None:
                return None
            batches |= held
            for inbox in component._inbox.values():
                batches |= batches_of(inbox)
        return batches

    def busy(self) -> bool:
        """True while a tasklet awaits a coroutine or a component has work in flight."""
        return any(c.parked is not None or c.pending() for c in self.ordered)

    def _step(self, component: Component) -> int:
        value: Any = None
        error: BaseException | None = None
        if component.parked is not None:
            if not component.parked.done():
                return 0
            task, component.parked = component.parked, None
            if task.cancelled():
                error = RuntimeError("awaited coroutine was cancelled")
            else:
                error = task.exception()
                value = None if error else task.result()
        tasklet = component.tasklet
        counters = component.counters
        before = counters.received + counters.sent + counters.errors
        if tasklet is None or tasklet.dead:
            tasklet = component.tasklet = greenlet(partial(_tasklet_body, component))
            result = tasklet.switch()
        elif error is not None:
            result = tasklet.throw(error)
        else:
            result = tasklet.switch(value)
        if isinstance(result, Await):
            self._park(component, result)
        return counters.received + counters.sent + counters.errors - before

    def _park(self, component: Component, request: Await) -> None:
        if self.loop is None:
            request.coroutine.close()
            component.tasklet.throw(RuntimeError("await_ needs a running engine loop"))
            return
        task = self.loop.create_task(request.coroutine)
        task.add_done_callback(lambda _t: component.context.wake())
        component.parked = task


def _tasklet_body(component: Component) -> None:
    try:
        component.run()
    except Exception as exc:  # noqa: BLE001 - report and restart, never stop the graph
        component.counters.errors += 1
        component.counters.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("component %s raised in run() and will be restarted: %s", component.id, exc)


def wire(components: dict[str, Component], wires: Iterable[Any]) -> None:
    """Connect output ports to input queues. A packet is copied only for the second and
    later receivers of a port, and not at all when every receiver only reads it."""
    targets: dict[tuple[str, str], list[Component]] = {}
    inboxes: dict[tuple[str, str], list[Any]] = {}
    for component in components.values():
        for port in component._routes:
            component._routes[port] = []
    for w in wires:
        key = (w.from_[0], w.from_[1])
        dst = components[w.to[0]]
        targets.setdefault(key, []).append(dst)
        inboxes.setdefault(key, []).append(dst._inbox[w.to[1]])
    for (src_id, port), receivers in targets.items():
        share = all(r.reads_only for r in receivers)
        components[src_id]._routes[port] = [
            (inbox, n > 0 and not share) for n, inbox in enumerate(inboxes[(src_id, port)])
        ]
