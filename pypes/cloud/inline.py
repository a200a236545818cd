"""The ``inline`` provider: the subgraph runs nested in the composite, in this process.

No worker, no HTTP: the subgraph's components get a nested scheduler that the composite
runs inside its own step of every pass, so a composite can be developed and tested on a
laptop and then switched to ``local`` or ``ec2`` unchanged. Results are what reaches the
subgraph's Collect publishers; documents keep their metadata, so ``POST /docs?wait=true``
on the outer graph gets them back. A nested component's failure is reported as the
composite's, named ``<composite>/<component>``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pypes.cloud import subgraph as subgraphs
from pypes.cloud.lifecycle import Lifecycle
from pypes.cloud.subgraph import Subgraph
from pypes.component import Component, batches_of
from pypes.errors import GraphError
from pypes.packet import Packet
from pypes.scheduler.core import Scheduler, wire

if TYPE_CHECKING:
    from pypes.components.composite import Composite


class InlineRunner:
    """Runs a subgraph inside the composite's step."""

    provider = "inline"

    def __init__(self, owner: Composite, subgraph: Subgraph) -> None:
        self.owner = owner
        self.lifecycle: Lifecycle = owner.lifecycle
        self.subgraph = subgraph
        self.outbox: deque[Packet] = deque()
        outer = owner.context
        self.context = replace(outer, on_failure=self._on_failure, on_result=self._on_result)
        classes = subgraphs.installed_classes()
        components: dict[str, Component] = {}
        for spec in subgraph.graph.components:
            cls = classes[spec.class_]
            try:
                component = cls(spec.id, cls.Params.model_validate(spec.params))
            except Exception as exc:  # noqa: BLE001 - a user's params can make __init__ fail
                raise GraphError(f"graph: component {spec.id!r}: {exc}") from None
            component.context = self.context
            component.wire_capacity = owner.wire_capacity
            components[spec.id] = component
        wire(components, subgraph.graph.wires)
        self.components = components
        self.scheduler = Scheduler([components[c] for c in subgraph.graph.order()], outer.loop)

    def start(self) -> None:
        self.lifecycle.to("configuring")
        for component in self.components.values():
            component.start()
        self.lifecycle.to("ready")

    def room(self) -> int:
        return self.owner.has_room()

    def submit(self, packets: list[Packet]) -> None:
        self.scheduler.feed(packets)

    def step(self) -> None:
        """Run the subgraph until idle (it may have work from async tasks even without
        new input); its results are in ``outbox``."""
        self.scheduler.run_until_idle()

    def held_batches(self) -> set[Any] | None:
        inside = self.scheduler.batches_in_flight()
        return None if inside is None else inside | batches_of(self.outbox)

    def pending(self) -> int:
        return len(self.outbox) + sum(
            c.pending() + (1 if c.parked is not None else 0) for c in self.scheduler.ordered)

    def waiting(self) -> int:
        return sum(c.queued() for c in self.scheduler.ordered)

    def in_flight(self) -> int:
        return sum(c.pending() for c in self.scheduler.ordered)

    def reconfigure(self, params: Any, subgraph: Subgraph) -> bool:
        return subgraph.graph.dump() == self.subgraph.graph.dump()

    def worker_rows(self) -> list[dict[str, Any]]:
        return []

    def status(self) -> dict[str, Any]:
        return {"components": {cid: {"in": c.counters.received, "out": c.counters.sent,
                                     "errors": c.counters.errors, "state": c.state}
                               for cid, c in self.components.items()}}

    async def close(self, drain: float = 0) -> None:
        self.lifecycle.to("draining")
        for component in self.components.values():
            try:
                await component.close()
            except Exception:  # noqa: BLE001, S110 - one component's cleanup must not stop the rest
                pass
        self.lifecycle.to("terminated")

    def _on_failure(self, component_id: str, packet: Packet, error: str, dead: bool) -> None:
        owner = self.owner
        owner.counters.errors += 1
        owner.counters.last_error = f"{component_id}: {error}"
        owner.context.on_failure(f"{owner.id}/{component_id}", packet, error, dead)

    def _on_result(self, packets: list[Packet]) -> list[Packet]:
        """Every result is the composite's: the nested Collects keep none."""
        self.outbox.extend(packets)
        return []
