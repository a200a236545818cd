"""Composite: a subgraph that runs as one component, nested or on worker instances."""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pypes.cloud.inline import InlineRunner
from pypes.cloud.lifecycle import Lifecycle
from pypes.cloud.pool import WorkerPool
from pypes.cloud.subgraph import Subgraph, prepare, problems
from pypes.component import Component, Params
from pypes.packet import Packet


def _empty_graph() -> dict[str, Any]:
    return {"pypes": 1, "name": "subgraph", "components": [], "wires": []}


class CompositeParams(Params):
    graph: dict[str, Any] = Field(
        default_factory=_empty_graph,
        description="the subgraph (a Pypes graph): documents enter at its Adapters, or at "
        "its unwired 'in' ports; what reaches its Collect publishers comes out")
    provider: Literal["inline", "local", "ec2"] = Field(
        "local", description="inline: nested in this process; local: worker processes on "
        "this machine; ec2: virtual machines in an EC2-compatible cloud")
    instances: int = Field(1, ge=1, le=64, description="workers to spread batches over")
    batch_size: int = Field(1000, ge=1, le=100_000, description="documents per batch")
    linger_ms: int = Field(50, ge=0, le=60_000,
                           description="how long a batch that is not full waits for more")
    compress: bool = Field(True, description="gzip the batches")
    max_waiting: int = Field(50_000, ge=1, description="documents held while no worker can "
                             "take them; beyond that the composite stops taking input")
    startup_timeout: float | None = Field(
        None, gt=0, description="seconds a worker has to start and register; empty: 60 for "
        "local, the ec2 register_timeout for ec2")
    ec2: dict[str, Any] = Field(default_factory=dict,
                                description="ec2 provider settings over the server's [ec2]")

    @field_validator("ec2")
    @classmethod
    def _ec2_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        """Checked now (a credential in a graph is refused), merged with [ec2] at start."""
        if value:
            from pypes.cloud.ec2_settings import Ec2Settings
            from pypes.cloud.provider import ProviderError

            try:
                Ec2Settings.merged({}, value)
            except ProviderError as exc:
                raise PydanticCustomError("ec2", "{problems}", {"problems": str(exc)}) from None
        return value

    @model_validator(mode="after")
    def _subgraph(self) -> CompositeParams:
        found = problems(self.graph)
        if found:
            raise PydanticCustomError("subgraph", "{problems}", {"problems": "; ".join(found)})
        return self


class Composite(Component):
    """Runs a subgraph on worker instances it starts, or nested in this process.

    Instances are local worker processes or EC2 virtual machines, fed in gzip-compressed
    batches; ``inline`` runs the subgraph nested, for development.

    Its state (provisioning, configuring, ready, draining, terminated, or failed with the
    reason) and its workers show in /stats and GET /workers. Documents that arrive while
    it provisions wait (up to max_waiting) and flow once a worker is ready. A worker that
    dies is replaced and its unanswered batches are sent again; nothing is lost.
    """

    type = "Composite"
    inputs = {"in": "documents for the subgraph"}
    outputs = {"out": "what reached the subgraph's Collect publishers"}
    Params = CompositeParams
    params: CompositeParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self.subgraph: Subgraph = prepare(self.params.graph)
        self.lifecycle = Lifecycle(on_change=self._show_state)
        self.runner: InlineRunner | WorkerPool | None = None

    def _show_state(self, state: str) -> None:
        self.state = state

    def start(self) -> None:
        if self.subgraph.empty:
            self.lifecycle.to("failed", "the subgraph is empty: give it components that "
                                        "end in a Collect")
            return
        if self.params.provider == "inline":
            self.runner = InlineRunner(self, self.subgraph)
        else:
            self.runner = WorkerPool(self, self.subgraph)
        self.runner.start()

    def run(self) -> None:
        while True:
            self.step()
            self.yield_ctrl()

    def step(self) -> None:
        """One pass: results out, then as much input in as there is room for."""
        runner = self.runner
        inbox = self._inbox["in"]
        if runner is None or self.lifecycle.state in ("failed", "draining", "terminated"):
            reason = self.lifecycle.reason or f"the composite is {self.lifecycle.state}"
            while inbox:
                self.counters.received += 1
                self.fail(inbox.popleft(), reason)
            if runner is not None:
                self._flush(runner.outbox)
            return
        take = min(len(inbox), runner.room())
        if take:
            packets = [inbox.popleft() for _ in range(take)]
            self.counters.received += take
            runner.submit(packets)
        runner.step()
        self._flush(runner.outbox)

    def _flush(self, outbox: deque[Packet]) -> None:
        room = self.has_room()
        if not outbox or room <= 0:
            return
        if len(outbox) <= room:
            packets = list(outbox)
            outbox.clear()
        else:
            packets = [outbox.popleft() for _ in range(room)]
        self.emit("out", packets)

    def pending(self) -> int:
        return self.runner.pending() if self.runner is not None else 0

    def held_batches(self) -> set[Any] | None:
        return self.runner.held_batches() if self.runner is not None else set()

    def reconfigure(self, params: Any) -> bool:
        if self.runner is None or params.provider != self.params.provider:
            return False
        subgraph = prepare(params.graph)
        if not self.runner.reconfigure(params, subgraph):
            return False
        self.params, self.subgraph = params, subgraph
        return True

    def worker_rows(self) -> list[dict[str, Any]]:
        return self.runner.worker_rows() if self.runner is not None else []

    def status(self) -> dict[str, Any]:
        runner = self.runner
        figures: dict[str, Any] = {
            "provider": self.params.provider,
            "instances": self.params.instances if self.params.provider != "inline" else 0,
            "workers": self.worker_rows(),
            "waiting": runner.waiting() if runner is not None else 0,
            "in_flight": runner.in_flight() if runner is not None else 0,
        }
        if self.lifecycle.reason:
            figures["reason"] = self.lifecycle.reason
        return figures

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()
        elif self.lifecycle.can("draining"):
            self.lifecycle.to("draining")
        if self.lifecycle.can("terminated"):
            self.lifecycle.to("terminated")
