"""Operators: shape the flow itself — split it, merge it, group it, slow it down."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from pydantic import BaseModel, Field

from pypes.component import Component, Params, batches_of
from pypes.packet import Packet


class Split(Component):
    """Sends every document to both ``out`` and ``out2`` (the second gets a copy)."""

    type = "Operator"
    inputs = {"in": "documents"}
    outputs = {"out": "every document", "out2": "a copy of every document"}

    def process(self, packet: Packet) -> Packet:
        routes = self._routes
        if routes["out2"]:
            self.send("out2", packet.clone() if routes["out"] else packet)
        return packet


class Merge(Component):
    """Joins two flows into one: whatever arrives on ``in`` or ``in2`` goes to ``out``.

    Any input port also takes several wires; Merge makes the join visible on the canvas.
    """

    type = "Operator"
    inputs = {"in": "documents", "in2": "more documents"}
    outputs = {"out": "the documents from both inputs"}


class CollateParams(Params):
    size: int = Field(10, ge=1, le=100_000, description="documents per group")
    field: str | None = Field(
        None, description="group documents that share this field's value; empty: in order"
    )
    max_wait_ms: int = Field(
        0, ge=0, description="send a group that is still short after this long; 0: wait"
    )


class _Group:
    __slots__ = ("value", "packets", "since")

    def __init__(self, value: Any) -> None:
        self.value = value
        self.packets: list[Packet] = []
        self.since = time.monotonic()


class Collate(Component):
    """Collects documents into groups of ``size``, sent as one ``{"documents": [...]}``.

    With ``field``, documents are grouped by that field's value, which the group
    document carries too. A short group is held across passes until it fills, or until
    ``max_wait_ms`` has passed when that is set.
    """

    type = "Operator"
    inputs = {"in": "documents"}
    outputs = {"out": 'one {"documents": [...]} per group'}
    Params = CollateParams
    params: CollateParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self._groups: dict[Any, _Group] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._resized = False

    def run(self) -> None:
        while True:
            params = self.params
            field = params.field
            groups = self._groups
            if self._resized:
                self._resized = False
                for key in [k for k, g in groups.items() if len(g.packets) >= params.size]:
                    self._send(groups.pop(key))
            for packet in self.receive_all("in"):
                value = packet.data.get(field) if field else None
                key = _hashable(value)
                group = groups.get(key)
                if group is None:
                    group = groups[key] = _Group(value)
                group.packets.append(packet)
                if len(group.packets) >= params.size:
                    self._send(groups.pop(key))
            if params.max_wait_ms and groups:
                self._send_late()
            self.yield_ctrl()

    def _send(self, group: _Group) -> None:
        packets = group.packets
        doc: dict[str, Any] = {"documents": [p.data for p in packets]}
        if self.params.field:
            doc[self.params.field] = group.value
        self.send("out", packets[0].derive(doc))

    def _send_late(self) -> None:
        """Send the groups that waited long enough; ask for a pass when the next one has."""
        wait = self.params.max_wait_ms / 1000
        now = time.monotonic()
        for key, group in list(self._groups.items()):
            if now - group.since >= wait:
                self._send(self._groups.pop(key))
        loop = self.context.loop
        if self._groups and loop is not None and self._timer is None:
            due = min(g.since for g in self._groups.values()) + wait - now
            self._timer = loop.call_later(max(due, 0.0), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.context.wake()

    def pending(self) -> int:
        # Held documents count as in flight only when they are sure to leave.
        if not self.params.max_wait_ms:
            return 0
        return sum(len(g.packets) for g in self._groups.values())

    def status(self) -> dict[str, Any]:
        return {"held": sum(len(g.packets) for g in self._groups.values())}

    def held_batches(self) -> set[Any]:
        return batches_of(p for group in self._groups.values() for p in group.packets)

    def reconfigure(self, params: BaseModel) -> bool:
        # A new size or wait keeps the groups held so far; a new field needs new groups.
        self._resized = True
        return getattr(params, "field", None) == self.params.field

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        groups, self._groups = self._groups, {}
        for group in groups.values():
            for packet in group.packets:
                self.fail(packet, "the component was removed while the document waited "
                                  "for its group to fill")


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return value


class DelayParams(Params):
    ms: int = Field(1000, ge=0, le=3_600_000, description="milliseconds to hold each pass")


class Delay(Component):
    """Holds what arrives for ``ms`` milliseconds, then passes it on.

    For demos and for testing back-pressure: the rest of the graph keeps running while it
    waits, and it takes no more than the wire after it has room for.
    """

    type = "Operator"
    inputs = {"in": "documents"}
    outputs = {"out": "the same documents, later"}
    Params = DelayParams
    params: DelayParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self._held: list[Packet] = []

    def run(self) -> None:
        while True:
            room = self.has_room()
            held = self._held
            while len(held) < room:
                packet = self.receive("in")
                if packet is None:
                    break
                held.append(packet)
            if held:
                if self.params.ms:
                    self.await_(asyncio.sleep(self.params.ms / 1000))
                self._held = []
                self.emit("out", held)
            self.yield_ctrl()

    def status(self) -> dict[str, Any]:
        return {"held": len(self._held)}

    def held_batches(self) -> set[Any]:
        return batches_of(self._held)

    def reconfigure(self, params: BaseModel) -> bool:
        return True

    async def close(self) -> None:
        held, self._held = self._held, []
        for packet in held:
            self.fail(packet, "the component was removed while it held the document")
