"""Publishers: components that send documents out of the graph."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pypes.component import Component, Params
from pypes.components.sink import ResultSink


class CollectParams(Params):
    limit: int = Field(100_000, ge=1, description="documents held before the graph backs up")


class Collect(Component):
    """Holds the documents that reach it, for reading over HTTP.

    Read them with ``GET /sinks/{id}?after=<cursor>`` (long-poll with ``wait``) and
    acknowledge with ``DELETE /sinks/{id}?upto=<cursor>``; ``POST /docs?wait=true`` returns
    the documents that reached a Collect in that pass. When full, the graph backs up.
    """

    type = "Publisher"
    inputs = {"in": "documents to hold"}
    outputs: dict[str, str] = {}
    Params = CollectParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self.sink = ResultSink(self.params.limit)

    def reconfigure(self, params: Any) -> bool:
        self.sink.limit = params.limit
        return True

    def has_room(self) -> int:
        return self.sink.room()

    def drain(self, limit: int | None = None) -> int:
        inbox = self._inbox["in"]
        take = len(inbox) if limit is None else min(limit, len(inbox))
        packets = [inbox.popleft() for _ in range(take)]
        on_result = self.context.on_result
        for packet in packets:
            on_result(packet)
        self.sink.extend([p.data for p in packets])
        self.counters.received += take
        return take

    def status(self) -> dict[str, Any]:
        return {"held": len(self.sink), "cursor": self.sink.cursor}


